//! A GPU slot whose worker cannot use CUDA. `nvidia-smi` (a stand-in on
//! `PATH`) lists a GPU at index 7, so the scheduler hands the run
//! `CUDA_VISIBLE_DEVICES=7`, which no real machine here has: the real worker
//! must fail the run as `no-device` with the cause, once, instead of
//! quietly training on the CPU.

use crate::common;

use common::{executable, path_with, sweep_command, text};

#[test]
fn a_run_given_a_gpu_it_cannot_use_fails_instead_of_training_on_the_cpu() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    executable(
        &bin.join("nvidia-smi"),
        "#!/bin/sh\ncase \"$1\" in\n  --query-gpu=index,uuid) echo \"7, GPU-0007\" ;;\n  *) echo \"7, 1000, 20000\" ;;\nesac\n",
    );
    let file = tmp.path().join("exp.yaml");
    std::fs::write(
        &file,
        "name: hidden-gpu\ngrid:\n  dataset: synthetic:breastmnist\n  arch: small_cnn\n  lr: 1e-3\ntrain:\n  epochs: 1\n  subset: 64\n",
    )
    .unwrap();
    let results = tmp.path().join("results");
    let out = sweep_command()
        .arg("run")
        .arg(&file)
        .arg("--results")
        .arg(&results)
        .args([
            "--devices",
            "cuda",
            "--runs-per-gpu",
            "1",
            "--max-retries",
            "2",
        ])
        .env("PATH", path_with(&bin))
        .env_remove("CUDA_VISIBLE_DEVICES")
        .output()
        .unwrap();
    let printed = text(&out);
    assert!(!out.status.success(), "{printed}");
    assert!(printed.contains("no-device"), "{printed}");

    let runs: Vec<_> = std::fs::read_dir(&results)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().join("failure.json").exists())
        .collect();
    assert_eq!(runs.len(), 1, "{printed}");
    let run = runs[0].path();
    let failure: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("failure.json")).unwrap()).unwrap();
    assert_eq!(failure["kind"], "no-device", "{failure}");
    // Deterministic: not retried although --max-retries allows two more.
    assert_eq!(failure["attempts"], 1, "{failure}");
    let message = failure["message"].as_str().unwrap();
    assert!(message.contains("CUDA_VISIBLE_DEVICES=\"7\""), "{message}");
    assert!(message.contains("--devices cpu"), "{message}");
    // The worker loaded libtorch's CUDA half for the GPU it was given (the
    // binary does not link it; a CPU-only libtorch has none to load).
    assert!(
        message.contains("loaded its CUDA library") || message.contains("no CUDA library"),
        "{message}"
    );
    assert!(!run.join("metrics.json").exists());
    assert!(!run.join("complete.json").exists());
}
