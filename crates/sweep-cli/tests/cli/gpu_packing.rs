//! `sweep run` on a machine that looks like it has one GPU: a stand-in
//! `nvidia-smi` on `PATH` (one GPU whose used memory grows 3,000 MiB per
//! running worker) and a stand-in worker (`SWEEP_WORKER`). Checks that the
//! command packs by measured memory unless told a density.

use crate::common;

use std::path::{Path, PathBuf};

use common::{executable, path_with, sweep_command, text};

/// A folder with `bin/nvidia-smi`, `bin/worker`, `running/` and the experiment.
fn fake_gpu_machine() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::create_dir_all(d.join("bin")).unwrap();
    std::fs::create_dir_all(d.join("running")).unwrap();
    executable(
        &d.join("bin/nvidia-smi"),
        &format!(
            "#!/bin/sh\ncase \"$1\" in\n  --query-gpu=index,uuid) echo \"0, GPU-0000\" ;;\n  *) n=$(ls '{r}' | wc -l); echo \"0, $((1000 + 3000 * n)), 20000\" ;;\nesac\n",
            r = d.join("running").display()
        ),
    );
    executable(
        &d.join("bin/worker"),
        &format!(
            "#!/bin/sh\nk=$(basename \"$1\")\ntouch '{r}/'$k\nsleep 1\nrm '{r}/'$k\nprintf '{{\"key\":\"%s\",\"files\":[]}}' \"$k\" > \"$1/complete.json\"\n",
            r = d.join("running").display()
        ),
    );
    let file = d.join("exp.yaml");
    std::fs::write(
        &file,
        "name: packed\ngrid:\n  dataset: synthetic:breastmnist\n  arch: small_cnn\n  lr: 1e-3\n  seed: [0, 1, 2]\n",
    )
    .unwrap();
    (tmp, file)
}

fn run_on_fake_gpu(tmp: &Path, file: &Path, extra: &[&str]) -> std::process::Output {
    run_on_fake_gpu_seeing(tmp, file, extra, None)
}

/// As [`run_on_fake_gpu`], with `CUDA_VISIBLE_DEVICES` set around `sweep`
/// (or unset: the test runner's own value must not leak in).
fn run_on_fake_gpu_seeing(
    tmp: &Path,
    file: &Path,
    extra: &[&str],
    cuda_visible_devices: Option<&str>,
) -> std::process::Output {
    let mut command = sweep_command();
    command
        .arg("run")
        .arg(file)
        .arg("--results")
        .arg(tmp.join("results"))
        .args(extra)
        .env("PATH", path_with(&tmp.join("bin")))
        .env("SWEEP_WORKER", tmp.join("bin/worker"));
    match cuda_visible_devices {
        Some(value) => command.env("CUDA_VISIBLE_DEVICES", value),
        None => command.env_remove("CUDA_VISIBLE_DEVICES"),
    };
    command.output().unwrap()
}

#[test]
fn the_first_run_is_measured_alone_and_the_footprint_kept() {
    let (tmp, file) = fake_gpu_machine();
    let out = run_on_fake_gpu(tmp.path(), &file, &[]);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("cuda:0, alone: measuring its memory"), "{log}");
    assert!(log.contains("3000 MiB on cuda:0"), "{log}");
    assert!(log.contains("3/3 runs done"), "{log}");
    let saved = std::fs::read_to_string(tmp.path().join("results/gpu_footprints.json")).unwrap();
    assert!(saved.contains("small_cnn"), "{saved}");
    assert!(saved.contains("3000"), "{saved}");
    assert!(
        log.contains("to train on 1 GPU, up to 8 runs each"),
        "{log}"
    );
    // After the measurement, the other two share the GPU.
    let after: Vec<&str> = log
        .lines()
        .skip_while(|l| !l.contains("] measured "))
        .skip(1)
        .collect();
    assert!(
        after.len() > 2 && after[0].contains(" start ") && after[1].contains(" start "),
        "{log}"
    );
}

#[test]
fn a_fixed_density_is_used_as_given() {
    let (tmp, file) = fake_gpu_machine();
    let out = run_on_fake_gpu(tmp.path(), &file, &["--runs-per-gpu", "3"]);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(!log.contains("measuring"), "{log}");
    assert!(!tmp.path().join("results/gpu_footprints.json").exists());
}

#[test]
fn gpus_hidden_around_sweep_stay_hidden() {
    let (tmp, file) = fake_gpu_machine();
    let hidden = run_on_fake_gpu_seeing(tmp.path(), &file, &["--devices", "cuda"], Some(""));
    let log = text(&hidden);
    assert!(!hidden.status.success(), "{log}");
    assert!(log.contains("no GPU was found"), "{log}");
    let named = run_on_fake_gpu_seeing(
        tmp.path(),
        &file,
        &["--devices", "cuda", "--runs-per-gpu", "3"],
        Some("GPU-0000"),
    );
    let log = text(&named);
    assert!(named.status.success(), "{log}");
    assert!(log.contains("cuda:0"), "{log}");
}
