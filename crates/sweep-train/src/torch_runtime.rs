//! libtorch start-up that has to happen before the first `tch` call.
//!
//! The CUDA kernels of PyTorch live in `libtorch_cuda.so`, which registers
//! itself with libtorch from its static initialisers. Nothing in Rust calls
//! into it directly, so the linker (`--as-needed`) leaves it out of the
//! binaries, and [`init_torch`] loads it at run time: it finds
//! `libtorch_cuda.so` next to the libtorch this process actually loaded (or
//! in the directory the build used) and `dlopen`s it, keeping the handle for
//! the lifetime of the process.
//!
//! It does so only when the run may use a GPU: not when `SWEEP_DEVICE` is
//! `cpu`, which `sweep run` and the Slurm scripts set for every CPU run.
//! Loading the CUDA half (cuDNN, cuBLAS, NCCL… with it) took 0.15-0.65 s of
//! every CPU run's start and about 40 % of libtorch's load time
//! (docs/benchmarks.md, finding 12). libtorch decides once per process
//! whether CUDA is there, at the first CUDA query, so `init_torch` must come
//! before any other `tch` call: the worker calls it first thing. (In a test
//! binary, whichever test touches libtorch first decides; a test that needs
//! CUDA must run in a fresh process.) A run given
//! a GPU that libtorch then cannot see fails as `no-device`, naming the
//! library's state; it never falls back to the CPU.
//!
//! [`device_report`] summarises what the process can use, for run logs.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Serialize;

/// File name of libtorch's CUDA half.
const CUDA_LIBRARY: &str = "libtorch_cuda.so";

/// Libraries whose location identifies the libtorch in use.
const TORCH_LIBRARIES: [&str; 3] = ["libtorch_cpu.so", "libtorch.so", "libc10.so"];

/// Torch lib directory seen by `build.rs` (also the rpath it baked in).
const BUILD_TORCH_LIB_DIR: Option<&str> = option_env!("SWEEP_TORCH_LIB_DIR");

/// What happened to `libtorch_cuda.so` during [`init_torch`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CudaLibrary {
    /// No `libtorch_cuda.so` next to libtorch: a CPU-only build.
    Absent,
    /// Loaded and kept loaded; `already_mapped` is true when the dynamic
    /// linker had loaded it before (the normal case with the build scripts).
    Loaded { path: PathBuf, already_mapped: bool },
    /// Present but `dlopen` failed (missing CUDA runtime pieces, say).
    Failed { path: PathBuf, error: String },
    /// Present but not loaded: this process trains on the CPU
    /// (`SWEEP_DEVICE=cpu`).
    NotNeeded { path: PathBuf },
}

/// Outcome of [`init_torch`], computed once per process.
#[derive(Debug)]
pub struct TorchRuntime {
    /// Directory of the libtorch shared libraries in use, when found.
    pub lib_dir: Option<PathBuf>,
    pub cuda_library: CudaLibrary,
    /// Keeps `libtorch_cuda.so` loaded until the process exits.
    _handle: Option<libloading::Library>,
}

static RUNTIME: OnceLock<TorchRuntime> = OnceLock::new();

/// Prepares libtorch for use; call before any other `tch` function. Cheap and
/// idempotent: the work is done on the first call only. Loads the CUDA half
/// unless `SWEEP_DEVICE` is `cpu`.
pub fn init_torch() -> &'static TorchRuntime {
    RUNTIME.get_or_init(|| {
        let device = std::env::var("SWEEP_DEVICE").unwrap_or_default();
        let mapped = mapped_libraries();
        let lib_dir = loaded_torch_dir(&mapped).or_else(configured_torch_dir);
        let candidates = lib_dir
            .iter()
            .cloned()
            .chain(configured_torch_dir())
            .map(|dir| dir.join(CUDA_LIBRARY));
        let Some(path) = candidates.into_iter().find(|p| p.is_file()) else {
            return TorchRuntime {
                lib_dir,
                cuda_library: CudaLibrary::Absent,
                _handle: None,
            };
        };
        let already_mapped = mapped.iter().any(|m| same_file(m, &path));
        if !already_mapped && !may_use_a_gpu(&device) {
            return TorchRuntime {
                lib_dir,
                cuda_library: CudaLibrary::NotNeeded { path },
                _handle: None,
            };
        }
        let (cuda_library, handle) = match open_global(&path) {
            Ok(handle) => (
                CudaLibrary::Loaded {
                    path,
                    already_mapped,
                },
                Some(handle),
            ),
            Err(e) => (
                CudaLibrary::Failed {
                    path,
                    error: e.to_string(),
                },
                None,
            ),
        };
        TorchRuntime {
            lib_dir,
            cuda_library,
            _handle: handle,
        }
    })
}

/// Whether a worker with this `SWEEP_DEVICE` (`cpu`, `cuda`, `cuda:N`,
/// `auto` or unset) may train on a GPU.
fn may_use_a_gpu(sweep_device: &str) -> bool {
    sweep_device.trim() != "cpu"
}

#[cfg(unix)]
fn open_global(path: &Path) -> Result<libloading::Library, libloading::Error> {
    use libloading::os::unix::{Library, RTLD_GLOBAL, RTLD_NOW};
    // SAFETY: loading runs libtorch_cuda's initialisers, which only register
    // the CUDA backend with the libtorch already in this process. The path is
    // the copy sitting next to that libtorch, so the two match.
    unsafe { Library::open(Some(path), RTLD_NOW | RTLD_GLOBAL) }.map(Into::into)
}

#[cfg(not(unix))]
fn open_global(path: &Path) -> Result<libloading::Library, libloading::Error> {
    // SAFETY: as above; only the CUDA backend registers itself.
    unsafe { libloading::Library::new(path) }
}

/// Paths of the shared objects mapped into this process (Linux only; empty
/// elsewhere).
fn mapped_libraries() -> Vec<PathBuf> {
    let Ok(maps) = fs::read_to_string("/proc/self/maps") else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = maps
        .lines()
        .filter_map(|line| line.find(" /").map(|i| line[i + 1..].trim_end()))
        .filter(|p| !p.ends_with(" (deleted)"))
        .map(PathBuf::from)
        .collect();
    paths.dedup();
    paths
}

fn loaded_torch_dir(mapped: &[PathBuf]) -> Option<PathBuf> {
    TORCH_LIBRARIES.iter().find_map(|name| {
        mapped
            .iter()
            .find(|p| p.file_name().is_some_and(|f| f == *name))
            .and_then(|p| p.parent().map(Path::to_path_buf))
    })
}

/// The directory the build linked against, or `SWEEP_TORCH_LIB` at run time.
fn configured_torch_dir() -> Option<PathBuf> {
    BUILD_TORCH_LIB_DIR
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("SWEEP_TORCH_LIB").map(PathBuf::from))
        .filter(|d| d.is_dir())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// What this process can compute on, for logs and `sweep` status output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceReport {
    pub cuda_available: bool,
    pub cuda_device_count: i64,
    /// libtorch's CUDA backend is registered (its CUDA half is loaded), GPU
    /// or not: what a machine without a GPU can check.
    pub cuda_backend: bool,
    /// PyTorch version of the loaded libtorch (e.g. `2.13.0+cu130`), or
    /// `unknown` when its install carries no version file.
    pub torch_version: String,
    /// cuDNN version number (e.g. 92000) when cuDNN is usable, else `None`.
    pub cudnn: Option<i64>,
    pub torch_lib_dir: Option<PathBuf>,
    pub cuda_library: CudaLibrary,
}

/// Runs [`init_torch`] and reports the devices libtorch can see.
pub fn device_report() -> DeviceReport {
    let runtime = init_torch();
    let cuda_available = tch::Cuda::is_available();
    let cuda_backend = tch::utils::has_cudart();
    let cuda_device_count = if cuda_available {
        tch::Cuda::device_count()
    } else {
        0
    };
    // Only ask for the version when cuDNN is usable: libtorch throws otherwise.
    let cudnn = tch::Cuda::cudnn_is_available().then(tch::utils::version_cudnn);
    DeviceReport {
        cuda_available,
        cuda_device_count,
        cuda_backend,
        torch_version: runtime
            .lib_dir
            .as_deref()
            .and_then(torch_version_near)
            .unwrap_or_else(|| "unknown".to_owned()),
        cudnn,
        torch_lib_dir: runtime.lib_dir.clone(),
        cuda_library: runtime.cuda_library.clone(),
    }
}

/// Reads the version shipped beside a libtorch `lib` directory: `version.py`
/// of a PyTorch wheel, or `build-version` of a standalone libtorch archive.
fn torch_version_near(lib_dir: &Path) -> Option<String> {
    let root = lib_dir.parent()?;
    if let Ok(text) = fs::read_to_string(root.join("version.py")) {
        let version = text.lines().find_map(|line| {
            let value = line.strip_prefix("__version__")?.trim_start();
            let value = value.strip_prefix('=')?.trim();
            Some(value.trim_matches(|c| c == '\'' || c == '"').to_owned())
        });
        if version.is_some() {
            return version;
        }
    }
    fs::read_to_string(root.join("build-version"))
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_finds_the_loaded_libtorch_and_is_idempotent() {
        let first = init_torch();
        let dir = first.lib_dir.as_ref().expect("libtorch directory");
        assert!(
            TORCH_LIBRARIES.iter().any(|l| dir.join(l).is_file()),
            "{dir:?}"
        );
        assert!(std::ptr::eq(first, init_torch()));
    }

    #[test]
    fn cuda_library_is_loaded_whenever_the_install_ships_one_and_a_gpu_may_be_used() {
        let runtime = init_torch();
        let shipped = runtime.lib_dir.as_ref().unwrap().join(CUDA_LIBRARY);
        let cpu_only = std::env::var("SWEEP_DEVICE").is_ok_and(|d| !may_use_a_gpu(&d));
        match &runtime.cuda_library {
            CudaLibrary::Absent => assert!(!shipped.exists()),
            CudaLibrary::NotNeeded { path } => {
                assert!(cpu_only && same_file(path, &shipped));
            }
            CudaLibrary::Loaded { path, .. } => {
                assert!(same_file(path, &shipped));
                let mapped = mapped_libraries();
                if !mapped.is_empty() {
                    assert!(mapped.iter().any(|m| same_file(m, path)));
                }
                // Whether libtorch then registered the backend depends, in
                // this shared test process, on whether another test asked
                // about CUDA first; a fresh worker process checks it
                // (sweep-cli's `worker_devices.rs`).
            }
            CudaLibrary::Failed { path, error } => panic!("dlopen {path:?}: {error}"),
        }
    }

    #[test]
    fn only_a_cpu_run_does_without_a_gpu() {
        assert!(!may_use_a_gpu("cpu"));
        for device in ["", "auto", "cuda", "cuda:0", "cuda:3"] {
            assert!(may_use_a_gpu(device), "{device}");
        }
    }

    #[test]
    fn device_report_is_consistent_and_serialises() {
        let report = device_report();
        assert_eq!(report.cuda_available, report.cuda_device_count > 0);
        // One of the releases sweep builds against (docs/torch-versions.md).
        assert!(
            ["2.11.", "2.13."]
                .iter()
                .any(|v| report.torch_version.starts_with(v)),
            "{report:?}"
        );
        if report.cudnn.is_some() {
            assert!(report.cuda_available);
        }
        let json = serde_json::to_value(&report).unwrap();
        for key in [
            "cuda_available",
            "cuda_device_count",
            "torch_version",
            "cudnn",
            "cuda_library",
        ] {
            assert!(json.get(key).is_some(), "{key} missing in {json}");
        }
        assert!(json["cuda_library"]["state"].is_string());
    }

    #[test]
    fn version_files_of_wheels_and_archives_are_understood() {
        let root = std::env::temp_dir().join(format!("sweep-torch-version-{}", std::process::id()));
        let lib = root.join("lib");
        fs::create_dir_all(&lib).unwrap();
        assert_eq!(torch_version_near(&lib), None);
        fs::write(root.join("build-version"), "2.13.0+cpu\n").unwrap();
        assert_eq!(torch_version_near(&lib).as_deref(), Some("2.13.0+cpu"));
        fs::write(
            root.join("version.py"),
            "__all__ = ['__version__']\n__version__ = '2.13.0+cu130'\n",
        )
        .unwrap();
        assert_eq!(torch_version_near(&lib).as_deref(), Some("2.13.0+cu130"));
        fs::remove_dir_all(&root).unwrap();
    }
}
