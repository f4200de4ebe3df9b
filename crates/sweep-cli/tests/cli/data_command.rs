//! `sweep data` and `sweep run --pull` end to end, against an HTTP server on
//! 127.0.0.1 started by the test (never the internet). The success path
//! serves the real BreastMNIST file from `SWEEP_DATA_DIR` (its MD5 must be
//! the official one); without it those tests are recorded as skipped, with why.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common;
use common::text;

/// Serves `body` for any path ending in `file_name`, 404 for anything else.
/// Returns the base URL. The thread lives until the test process ends.
fn serve(file_name: &'static str, body: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request_line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            // Drain the headers.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("");
            let path = path.split('?').next().unwrap_or("");
            if path.ends_with(file_name) {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            } else {
                let _ = stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        }
    });
    base
}

fn sweep(args: &[&str], base_url: &str) -> Output {
    common::sweep_command()
        .args(args)
        .env_remove("SWEEP_DATA_DIR")
        .env("SWEEP_DATA_URL", base_url)
        .env(
            "XDG_CACHE_HOME",
            std::env::temp_dir().join("sweep-data-command-cache"),
        )
        .output()
        .expect("sweep runs")
}

fn real_breastmnist() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("SWEEP_DATA_DIR") else {
        common::skip("SWEEP_DATA_DIR is not set (it names the real MedMNIST files)");
        return None;
    };
    let path = Path::new(&dir).join("breastmnist.npz");
    if !path.is_file() {
        common::skip(&format!("{} not found", path.display()));
        return None;
    }
    Some(path)
}

#[test]
fn list_shows_every_dataset_and_size_as_missing_in_an_empty_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let out = sweep(
        &["data", "list", "--data-dir", tmp.path().to_str().unwrap()],
        "http://127.0.0.1:9/",
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    for name in [
        "chestmnist",
        "bloodmnist_64",
        "retinamnist_128",
        "organsmnist_224",
    ] {
        assert!(t.contains(name), "{name} missing from:\n{t}");
    }
    assert!(
        t.contains("0 verified, 0 present, 0 corrupt, 48 missing"),
        "{t}"
    );
}

#[test]
fn a_download_with_the_wrong_checksum_leaves_nothing_that_looks_valid() {
    let tmp = tempfile::tempdir().unwrap();
    let base = serve(
        "breastmnist.npz",
        b"definitely not the official file".to_vec(),
    );
    let out = sweep(
        &[
            "data",
            "pull",
            "breastmnist",
            "--data-dir",
            tmp.path().to_str().unwrap(),
        ],
        &base,
    );
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("MD5"), "{t}");
    assert!(!tmp.path().join("breastmnist.npz").exists());

    let missing = sweep(
        &[
            "data",
            "pull",
            "retinamnist",
            "--data-dir",
            tmp.path().to_str().unwrap(),
        ],
        &base,
    );
    let t = text(&missing);
    assert!(!missing.status.success(), "{t}");
    assert!(t.contains("404"), "{t}");
    assert!(!tmp.path().join("retinamnist.npz").exists());
}

#[test]
fn run_names_the_pull_command_and_pull_fetches_verifies_and_trains() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let experiment = tmp.path().join("breast.yaml");
    std::fs::write(
        &experiment,
        "name: breast\ngrid:\n  dataset: breastmnist\n  arch: small_cnn\ntrain:\n  epochs: 1\n  subset: 128\n",
    )
    .unwrap();
    let results = tmp.path().join("results");
    let args = |pull: bool| {
        let mut a = vec![
            "run",
            experiment.to_str().unwrap(),
            "--devices",
            "cpu",
            "--data-dir",
            data.to_str().unwrap(),
            "--results",
            results.to_str().unwrap(),
        ];
        if pull {
            a.push("--pull");
        }
        a
    };

    let Some(real) = real_breastmnist() else {
        return;
    };
    let base = serve("breastmnist.npz", std::fs::read(&real).unwrap());
    let without = sweep(&args(false), &base);
    let t = text(&without);
    assert!(!without.status.success(), "{t}");
    assert!(t.contains("sweep data pull breastmnist"), "{t}");

    let with = sweep(&args(true), &base);
    let t = text(&with);
    assert!(with.status.success(), "{t}");
    assert!(t.contains("MD5 verified"), "{t}");
    assert!(t.contains("1/1 runs done (1 trained, 0 cached)"), "{t}");

    let verify = sweep(
        &[
            "data",
            "verify",
            "breastmnist",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &base,
    );
    let t = text(&verify);
    assert!(verify.status.success(), "{t}");
    assert!(t.contains("1 checked, 1 ok, 0 failed"), "{t}");
}
