//! `sweep weights` and pretrained weights in experiment files, end to end,
//! against an HTTP server on 127.0.0.1 started by the test (never the
//! internet). The files served are state dicts that the venv's torch saves
//! from torchvision-shaped modules with random values
//! (`scripts/make_test_weights.py`); the catalogue is pointed at the server
//! with `SWEEP_WEIGHTS_CATALOG` and the served files' own checksums. Tests
//! that need those files are recorded as skipped, with why, when torch is
//! not installed.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::common;
#[path = "../../../sweep-train/tests/train/torch_python.rs"]
pub(crate) mod torch_finder;
use common::text;
use torch_finder::{NO_TORCH, find_torch_python};

/// The venv's python with torch, or `None` (the test recorded as skipped).
fn torch_python() -> Option<PathBuf> {
    find_torch_python().or_else(|| {
        common::skip(NO_TORCH);
        None
    })
}

/// Serves `body` for any path ending in `file_name` (honouring `Range:
/// bytes=N-`), 404 for anything else. With `drop_first`, the first answer
/// announces the whole length but closes after half of it. Returns the base
/// URL and the byte offset each request for the file started at; the
/// thread lives until the test process ends.
fn serve(
    file_name: &'static str,
    body: Vec<u8>,
    drop_first: bool,
) -> (String, Arc<Mutex<Vec<usize>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let dropped = Arc::new(AtomicBool::new(!drop_first));
    let offsets = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&offsets);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut from = 0usize;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                let lower = line.to_ascii_lowercase();
                if let Some(range) = lower.strip_prefix("range: bytes=") {
                    from = range.trim().trim_end_matches('-').parse().unwrap_or(0);
                }
                line.clear();
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("");
            if !path.split('?').next().unwrap_or("").ends_with(file_name) {
                let _ = stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                continue;
            }
            seen.lock().unwrap().push(from);
            let rest = &body[from.min(body.len())..];
            let head = if from > 0 {
                format!(
                    "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {from}-{}/{}\r\nConnection: close\r\n\r\n",
                    rest.len(),
                    body.len() - 1,
                    body.len()
                )
            } else {
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    rest.len()
                )
            };
            let _ = stream.write_all(head.as_bytes());
            if !dropped.swap(true, Ordering::SeqCst) {
                let _ = stream.write_all(&rest[..rest.len() / 2]);
                let _ = stream.flush();
                let _ = stream.shutdown(std::net::Shutdown::Both);
                continue;
            }
            let _ = stream.write_all(rest);
        }
    });
    (base, offsets)
}

/// Runs `scripts/make_test_weights.py KIND` into `dir`.
fn make_weights(python: &Path, kind: &str, dir: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/make_test_weights.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(kind)
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

fn sha256_of(path: &Path) -> String {
    sweep_data::fingerprint::file_fingerprint(path).unwrap()
}

/// A catalogue override with one entry, the default for `arch`.
fn catalogue(dir: &Path, name: &str, arch: &str, url: &str, prefix: &str, layout: &str) -> PathBuf {
    let file = dir.join("catalog.json");
    let json = serde_json::json!({ "entries": [{
        "name": name, "arch": arch, "url": url, "sha256_prefix": prefix,
        "layout": layout, "default": true, "source": "test server",
    }]});
    std::fs::write(&file, json.to_string()).unwrap();
    file
}

fn sweep_weights(args: &[&str], weights_dir: &Path, catalog: Option<&Path>) -> Output {
    let mut cmd = common::sweep_command();
    cmd.args(args)
        .env("SWEEP_WEIGHTS_DIR", weights_dir)
        .env_remove("SWEEP_WEIGHTS_URL")
        .env_remove("SWEEP_WEIGHTS_CATALOG")
        .env("XDG_CACHE_HOME", weights_dir.join("xdg"));
    if let Some(catalog) = catalog {
        cmd.env("SWEEP_WEIGHTS_CATALOG", catalog);
    }
    cmd.output().expect("sweep runs")
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = walk(dir)
        .into_iter()
        .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
        .filter(|p| !p.starts_with("xdg") && p != "file-fingerprints.json")
        .collect();
    names.sort();
    names
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    listing
        .flatten()
        .flat_map(|e| {
            let p = e.path();
            if p.is_dir() { walk(&p) } else { vec![p] }
        })
        .collect()
}

#[test]
fn list_shows_every_published_file_with_its_pinned_prefix() {
    let tmp = tempfile::tempdir().unwrap();
    let out = sweep_weights(&["weights", "list", "--json"], tmp.path(), None);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let weights = v["weights"].as_array().unwrap();
    let names: Vec<&str> = weights
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    for name in [
        "resnet18_imagenet",
        "resnet50_imagenet",
        "resnet152_imagenet",
        "densenet121_imagenet",
        "densenet161_imagenet",
        "densenet201_imagenet",
        "vit_b16_imagenet",
        "vit_b16_in21k",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let r18 = &weights[0];
    assert_eq!(r18["published_sha256_prefix"], "f37072fd");
    assert_eq!(
        r18["url"],
        "https://download.pytorch.org/models/resnet18-f37072fd.pth"
    );
    assert!(weights.iter().all(|w| w["state"] == "missing"), "{t}");

    let table = sweep_weights(&["weights", "list"], tmp.path(), None);
    let t = text(&table);
    assert!(t.contains("trust on first use"), "{t}");
    assert!(
        t.contains("0 verified, 0 present, 0 corrupt, 8 missing"),
        "{t}"
    );
}

#[test]
fn a_download_with_the_wrong_checksum_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let (base, _) = serve(
        "r18-00000000.pth",
        b"not the published weights".to_vec(),
        false,
    );
    let url = format!("{base}r18-00000000.pth");
    let catalog = catalogue(
        tmp.path(),
        "resnet18_imagenet",
        "resnet18",
        &url,
        "00000000",
        "torchvision",
    );
    let dir = tmp.path().join("weights");
    let out = sweep_weights(
        &["weights", "pull", "resnet18_imagenet"],
        &dir,
        Some(&catalog),
    );
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("SHA-256 mismatch: expected 00000000"), "{t}");
    assert_eq!(files_in(&dir), Vec::<String>::new(), "{t}");

    let unknown = sweep_weights(&["weights", "pull", "resnet19"], &dir, Some(&catalog));
    let t = text(&unknown);
    assert!(!unknown.status.success(), "{t}");
    assert!(
        t.contains("unknown weights `resnet19`; known: resnet18_imagenet"),
        "{t}"
    );
}

#[test]
fn pull_resumes_a_dropped_download_converts_and_verify_catches_corruption() {
    let Some(python) = torch_python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    make_weights(&python, "resnet18", tmp.path());
    let pth = tmp.path().join("weights.pth");
    let prefix = sha256_of(&pth)[..8].to_string();
    let file_name: &'static str = Box::leak(format!("resnet18-{prefix}.pth").into_boxed_str());
    let (base, offsets) = serve(file_name, std::fs::read(&pth).unwrap(), true);
    let catalog = catalogue(
        tmp.path(),
        "resnet18_imagenet",
        "resnet18",
        &format!("https://example.invalid/models/{file_name}"),
        &prefix,
        "torchvision",
    );
    let dir = tmp.path().join("weights");
    let out = sweep_weights(
        &["weights", "pull", "resnet18_imagenet", "--base-url", &base],
        &dir,
        Some(&catalog),
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("retry 1"), "{t}");
    let offsets = offsets.lock().unwrap().clone();
    assert_eq!(offsets.len(), 2, "{offsets:?}");
    assert_eq!(offsets[0], 0);
    assert!(offsets[1] > 0, "the second request resumes: {offsets:?}");
    assert!(
        t.contains(&format!("SHA-256 starts with the published {prefix}")),
        "{t}"
    );
    assert!(t.contains("converted 102 tensors"), "{t}");
    assert_eq!(
        files_in(&dir),
        ["resnet18_imagenet.json", "resnet18_imagenet.safetensors"],
        "the download is removed once converted: {t}"
    );
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("resnet18_imagenet.json")).unwrap())
            .unwrap();
    let converted = dir.join("resnet18_imagenet.safetensors");
    assert_eq!(record["sha256"], sha256_of(&converted));
    assert_eq!(record["source_sha256"], sha256_of(&pth));

    let again = sweep_weights(
        &["weights", "pull", "resnet18_imagenet"],
        &dir,
        Some(&catalog),
    );
    assert!(
        text(&again).contains("already here and verified"),
        "{}",
        text(&again)
    );
    let ok = sweep_weights(&["weights", "verify"], &dir, Some(&catalog));
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(
        text(&ok).contains("ok      resnet18_imagenet"),
        "{}",
        text(&ok)
    );

    // Flip one byte, keeping size and modification time: only a fresh
    // hash can tell.
    let mtime = std::fs::metadata(&converted).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&converted).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&converted, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&converted)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let bad = sweep_weights(&["weights", "verify"], &dir, Some(&catalog));
    let t = text(&bad);
    assert!(!bad.status.success(), "{t}");
    assert!(t.contains("FAILED  resnet18_imagenet"), "{t}");
    assert!(
        t.contains("`sweep weights pull resnet18_imagenet` replaces it"),
        "{t}"
    );
}

#[test]
fn import_refuses_a_renamed_or_reshaped_tensor_naming_it_and_both_shapes() {
    let Some(python) = torch_python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("weights");
    for (kind, expected) in [
        (
            "resnet18_renamed",
            "tensor `layer2.0.bn_1.weight` is not a tensor of `resnet18` (the model's `layer2.0.bn1.weight` [128] is not in the file)",
        ),
        (
            "resnet18_reshaped",
            "tensor `layer3.1.conv2.weight` has shape [256, 256, 1, 1] in the file but [256, 256, 3, 3] in `resnet18`",
        ),
    ] {
        let made = tmp.path().join(kind);
        make_weights(&python, kind, &made);
        let file = made.join("weights.pth");
        let out = sweep_weights(
            &[
                "weights",
                "import",
                file.to_str().unwrap(),
                "--arch",
                "resnet18",
                "--name",
                kind,
            ],
            &dir,
            None,
        );
        let t = text(&out);
        assert!(!out.status.success(), "{kind}: {t}");
        assert!(t.contains(expected), "{kind}: {t}");
        assert!(!dir.join(format!("{kind}.safetensors")).exists(), "{t}");
        assert!(!dir.join(format!("{kind}.json")).exists(), "{t}");
    }

    let made = tmp.path().join("resnet18");
    make_weights(&python, "resnet18", &made);
    let file = made.join("weights.pth");
    let out = sweep_weights(
        &[
            "weights",
            "import",
            file.to_str().unwrap(),
            "--arch",
            "resnet18",
            "--name",
            "mine",
        ],
        &dir,
        None,
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(
        t.contains("use it with `pretrained: {weights: mine}`"),
        "{t}"
    );
    let listed = sweep_weights(&["weights", "list"], &dir, None);
    assert!(text(&listed).contains("mine"), "{}", text(&listed));
}

/// An experiment on synthetic data whose runs start from `pretrained`.
fn experiment(dir: &Path, pretrained: &str) -> PathBuf {
    let file = dir.join("exp.yaml");
    std::fs::write(
        &file,
        format!(
            "name: pretrained_smoke\n\
             grid:\n  dataset: synthetic:breastmnist\n  arch: resnet18\n  lr: 1e-3\n\
             train:\n  epochs: 1\n  batch_size: 32\n  input_channels: 3\n  input_size: 72\n  subset: 64\n  pretrained: {pretrained}\n"
        ),
    )
    .unwrap();
    file
}

#[test]
fn runs_name_the_pull_command_and_run_pull_fetches_and_keys_by_the_weights() {
    let Some(python) = torch_python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    make_weights(&python, "resnet18", tmp.path());
    let pth = tmp.path().join("weights.pth");
    let prefix = sha256_of(&pth)[..8].to_string();
    let (base, _) = serve("weights.pth", std::fs::read(&pth).unwrap(), false);
    let catalog = catalogue(
        tmp.path(),
        "resnet18_imagenet",
        "resnet18",
        &format!("{base}weights.pth"),
        &prefix,
        "torchvision",
    );
    let dir = tmp.path().join("weights");
    let exp = experiment(tmp.path(), "imagenet");
    let results = tmp.path().join("results");
    let (exp, results) = (exp.to_str().unwrap(), results.to_str().unwrap());

    let out = sweep_weights(&["plan", exp, "--results", results], &dir, Some(&catalog));
    let t = text(&out);
    assert!(t.contains("no-data"), "{t}");

    let run = ["run", exp, "--results", results];
    let out = sweep_weights(&run, &dir, Some(&catalog));
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(
        t.contains("pretrained weights `resnet18_imagenet` not found")
            && t.contains("`sweep weights pull resnet18_imagenet`"),
        "{t}"
    );

    let out = sweep_weights(
        &["run", exp, "--results", results, "--pull"],
        &dir,
        Some(&catalog),
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("converted 102 tensors"), "{t}");
    let results = Path::new(results);
    let spec_files: Vec<PathBuf> = walk(results)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "spec.json"))
        .collect();
    assert_eq!(spec_files.len(), 1, "{t}");
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&spec_files[0]).unwrap()).unwrap();
    assert_eq!(
        spec["input"]["weights_sha256"],
        sha256_of(&dir.join("resnet18_imagenet.safetensors"))
    );
    assert_eq!(
        spec["input"]["run"]["train"]["pretrained"],
        serde_json::json!({ "weights": "resnet18_imagenet" })
    );
    let log = std::fs::read_to_string(spec_files[0].with_file_name("worker.log")).unwrap();
    assert!(
        log.contains("pretrained weights resnet18_imagenet (")
            && log.contains("loaded 100 tensors")
            && log.contains("class count differs, head re-initialised"),
        "{log}"
    );
}
