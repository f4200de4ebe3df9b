//! Makes everything that links libtorch through this crate start without
//! `LD_LIBRARY_PATH`.
//!
//! `tch` links `libtorch*.so` dynamically but records no search path, so a
//! test binary or the `sweep` executable would only start with
//! `LD_LIBRARY_PATH` pointing into the PyTorch wheel. This script finds the
//! torch `lib` directory the same way `torch-sys` does and:
//!
//! * bakes it into this package's own test binaries as an rpath;
//! * leaves `libtorch_cuda.so` out on purpose: rustc links with `--as-needed`
//!   and no Rust code references it, so the linker drops it from `DT_NEEDED`
//!   (and `libtorch.so`, a stub that needs it). `torch_runtime::init_torch`
//!   loads it at run time when the run may use a GPU, so CPU runs do not pay
//!   for loading CUDA;
//! * exports the directory to this crate's code as `SWEEP_TORCH_LIB_DIR` (used
//!   by `torch_runtime` as a fallback place to find `libtorch_cuda.so`);
//! * publishes the link arguments as `links` metadata (`DEP_SWEEP_TORCH_*`),
//!   because `cargo::rustc-link-arg` only reaches this package's own targets.
//!   `crates/sweep-cli/build.rs` re-emits them for the `sweep` binary;
//! * sets the `sweep_tch_0_24` cfg when that libtorch is 2.11.x, which
//!   `scripts/torch-toolchain` builds with tch 0.24 (see `src/tch_release.rs`);
//! * compiles `cpp/fused_adam.cpp` (libtorch's fused Adam kernel, which tch
//!   does not wrap; see `src/fused_adam.rs`) against the headers beside that
//!   directory (`../include`), with the C++ ABI the PyTorch wheel uses
//!   (`LIBTORCH_CXX11_ABI`, default 1, as `torch-sys`).
//!
//! Lookup order for the directory: `SWEEP_TORCH_LIB`; the Python on `PATH`
//! when `LIBTORCH_USE_PYTORCH` is set (what `torch-sys` itself does);
//! `LIBTORCH_LIB/lib` or `LIBTORCH/lib`; the Python on `PATH` as a last resort.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const PYTHON_LIB_DIR: &str =
    "import os, torch; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))";

fn main() {
    for var in [
        "SWEEP_TORCH_LIB",
        "LIBTORCH_USE_PYTORCH",
        "LIBTORCH",
        "LIBTORCH_LIB",
        "VIRTUAL_ENV",
        "LIBTORCH_CXX11_ABI",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed={FUSED_ADAM_SOURCE}");

    let Some(lib_dir) = torch_lib_dir() else {
        panic!(
            "sweep-train: libtorch not found (no torch/lib directory from SWEEP_TORCH_LIB, \
             LIBTORCH or the Python on PATH); run scripts/sweep or scripts/test, which \
             create the PyTorch virtualenv, or source scripts/torch-env.sh"
        );
    };
    compile_fused_adam(&lib_dir);
    println!("cargo::rustc-check-cfg=cfg(sweep_tch_0_24)");
    if torch_version(&lib_dir).is_some_and(|v| v.starts_with("2.11.")) {
        println!("cargo::rustc-cfg=sweep_tch_0_24");
    }
    let dir = lib_dir.display().to_string();
    println!("cargo::rustc-env=SWEEP_TORCH_LIB_DIR={dir}");

    let mut args = Vec::new();
    if cfg!(target_os = "linux") || cfg!(target_os = "macos") {
        args.push(format!("-Wl,-rpath,{dir}"));
    }

    println!("cargo::metadata=lib_dir={dir}");
    println!("cargo::metadata=link_arg_count={}", args.len());
    for (i, arg) in args.iter().enumerate() {
        println!("cargo::rustc-link-arg={arg}");
        println!("cargo::metadata=link_arg_{i}={arg}");
    }
}

const FUSED_ADAM_SOURCE: &str = "cpp/fused_adam.cpp";

/// Builds the C++ shim as a static library linked into this crate. Headers
/// come in as system headers so their own warnings stay out of the build.
fn compile_fused_adam(lib_dir: &Path) {
    let include = lib_dir
        .parent()
        .map(|root| root.join("include"))
        .filter(|dir| dir.join("ATen").is_dir())
        .unwrap_or_else(|| {
            panic!(
                "sweep-train: no libtorch headers (include/ATen) beside {}",
                lib_dir.display()
            )
        });
    let abi = env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".to_owned());
    cc::Build::new()
        .cpp(true)
        .file(FUSED_ADAM_SOURCE)
        .flag("-std=c++20")
        .flag("-isystem")
        .flag(include.display().to_string())
        .define("_GLIBCXX_USE_CXX11_ABI", abi.as_str())
        .compile("sweep_fused_adam");
}

/// `__version__` from the wheel's `torch/version.py` beside `lib/`.
fn torch_version(lib_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(lib_dir.parent()?.join("version.py")).ok()?;
    text.lines().find_map(|line| {
        let value = line.strip_prefix("__version__")?.trim_start();
        let value = value.strip_prefix('=')?.trim();
        Some(value.trim_matches(|c| c == '\'' || c == '"').to_owned())
    })
}

fn torch_lib_dir() -> Option<PathBuf> {
    if let Some(dir) = env_path("SWEEP_TORCH_LIB").filter(|d| has_libtorch(d)) {
        return Some(dir);
    }
    if env::var_os("LIBTORCH_USE_PYTORCH").is_some()
        && let Some(dir) = python_lib_dir()
    {
        return Some(dir);
    }
    let from_libtorch = env_path("LIBTORCH_LIB")
        .or_else(|| env_path("LIBTORCH"))
        .map(|root| root.join("lib"))
        .filter(|d| has_libtorch(d));
    from_libtorch.or_else(python_lib_dir)
}

fn env_path(name: &str) -> Option<PathBuf> {
    env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn has_libtorch(dir: &Path) -> bool {
    ["libtorch.so", "libtorch_cpu.so", "libtorch.dylib"]
        .iter()
        .any(|name| dir.join(name).exists())
}

/// Asks the interpreter `torch-sys` would use (`python` inside an activated
/// virtualenv, `python3` otherwise), then the other name.
fn python_lib_dir() -> Option<PathBuf> {
    let order = if env::var_os("VIRTUAL_ENV").is_some() {
        ["python", "python3"]
    } else {
        ["python3", "python"]
    };
    order.iter().find_map(|python| {
        let out = Command::new(python)
            .args(["-c", PYTHON_LIB_DIR])
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let dir = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
        has_libtorch(&dir).then_some(dir)
    })
}
