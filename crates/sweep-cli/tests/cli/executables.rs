//! The two executables: `sweep` must not link libtorch (so every command but
//! training starts in milliseconds), `sweep-worker` must, without the CUDA
//! half, which it loads only for runs that may use a GPU
//! (`worker_devices.rs`), and `sweep` must say clearly when the worker is not
//! beside it.

use crate::common;

use std::process::Command;

use common::text;

fn ldd(exe: &str) -> String {
    let out = Command::new("ldd").arg(exe).output().expect("ldd runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[cfg(target_os = "linux")]
fn only_the_worker_links_libtorch_and_only_its_cpu_half() {
    let sweep = ldd(env!("CARGO_BIN_EXE_sweep"));
    assert!(
        !sweep.contains("libtorch"),
        "sweep links libtorch:\n{sweep}"
    );

    let worker = ldd(env!("CARGO_BIN_EXE_sweep-worker"));
    assert!(
        !worker.contains("not found"),
        "unresolved libraries:\n{worker}"
    );
    let cpu = worker
        .lines()
        .find(|l| l.contains("libtorch_cpu.so"))
        .unwrap_or_else(|| panic!("sweep-worker does not link libtorch_cpu:\n{worker}"));
    // `libtorch_cpu.so => /…/torch/lib/libtorch_cpu.so (0x…)`
    let path = cpu
        .split("=>")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    assert!(std::path::Path::new(path).is_file(), "{worker}");
    // Loaded at run time for GPU runs only: CPU runs start without it.
    assert!(
        !worker.contains("libtorch_cuda.so"),
        "sweep-worker links libtorch_cuda.so, which CPU runs then load:\n{worker}"
    );
}

#[test]
fn a_missing_worker_is_named_with_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let lonely = tmp.path().join("sweep");
    std::fs::copy(env!("CARGO_BIN_EXE_sweep"), &lonely).unwrap();
    let file = tmp.path().join("exp.yaml");
    std::fs::write(
        &file,
        "name: w\ngrid:\n  dataset: synthetic:breastmnist\n  arch: small_cnn\n  lr: 1e-3\n",
    )
    .unwrap();
    let out = Command::new(&lonely)
        .args(["run", file.to_str().unwrap(), "--results"])
        .arg(tmp.path().join("results"))
        .env_remove("SWEEP_WORKER")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let msg = text(&out);
    assert!(
        msg.contains("sweep-worker") && msg.contains("is missing"),
        "{msg}"
    );
    assert!(msg.contains("SWEEP_WORKER"), "{msg}");

    // Pointing SWEEP_WORKER at the real one makes the same copy train.
    let out = Command::new(&lonely)
        .args(["run", file.to_str().unwrap(), "--smoke", "--results"])
        .arg(tmp.path().join("results"))
        .env("SWEEP_WORKER", env!("CARGO_BIN_EXE_sweep-worker"))
        .env("SWEEP_THREADS", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn worker_usage_is_explained() {
    let out = Command::new(env!("CARGO_BIN_EXE_sweep-worker"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("Usage: sweep-worker <RUN_DIR>"));
}
