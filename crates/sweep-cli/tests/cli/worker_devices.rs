//! What `sweep-worker` loads of libtorch for a CPU run and for a GPU run.
//!
//! The binary does not link libtorch's CUDA half; the worker loads it at
//! start when the run may use a GPU, and not for `SWEEP_DEVICE=cpu`, which
//! saves CPU runs its load time. No GPU is needed to check this: libtorch
//! reports its CUDA backend as registered (`cuda_backend`) once that half is
//! loaded, card or not. Whether the card is then used is the GPU check's
//! business (docs/gpu.md).

use std::path::Path;
use std::process::Command;

fn device_report(sweep_device: &str) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_sweep-worker"))
        .arg("device-report")
        .env("SWEEP_DEVICE", sweep_device)
        .env("CUDA_VISIBLE_DEVICES", "")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_cpu_run_leaves_the_cuda_half_of_libtorch_unloaded_and_a_gpu_run_loads_it() {
    let cpu = device_report("cpu");
    let gpu = device_report("cuda:0");
    let lib_dir = cpu["torch_lib_dir"].as_str().expect("libtorch found");
    let ships_cuda = Path::new(lib_dir).join("libtorch_cuda.so").is_file();
    if ships_cuda {
        assert_eq!(cpu["cuda_library"]["state"], "not_needed", "{cpu}");
        assert_eq!(cpu["cuda_backend"], false, "{cpu}");
        assert_eq!(gpu["cuda_library"]["state"], "loaded", "{gpu}");
        assert_eq!(gpu["cuda_library"]["already_mapped"], false, "{gpu}");
        assert_eq!(gpu["cuda_backend"], true, "{gpu}");
    } else {
        // A CPU-only libtorch: nothing to load either way.
        for report in [&cpu, &gpu] {
            assert_eq!(report["cuda_library"]["state"], "absent", "{report}");
            assert_eq!(report["cuda_backend"], false, "{report}");
        }
    }
    // `CUDA_VISIBLE_DEVICES` is empty: whatever the machine has, no GPU.
    assert_eq!(gpu["cuda_device_count"], 0, "{gpu}");
    assert_eq!(cpu["torch_version"], gpu["torch_version"]);
}

#[test]
fn device_report_is_listed_in_the_workers_help() {
    let out = Command::new(env!("CARGO_BIN_EXE_sweep-worker"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("sweep-worker device-report"), "{help}");
}
