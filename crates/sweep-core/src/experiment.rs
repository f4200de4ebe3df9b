//! A validated experiment: what to vary, what to keep fixed, where data lives,
//! how to run. Built by [`crate::spec::validate`], expanded into runs by
//! [`crate::expand`].

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use crate::spec::node::Pos;

/// One value given to one field, remembered with where it was written so a
/// problem found after expansion (say `pos_weight` on a multi-class dataset)
/// can still point at the line.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// Path in the resolved run, e.g. `lr` or `train.optimizer.weight_decay`.
    pub run_path: &'static str,
    pub value: Json,
    pub pos: Pos,
}

/// A grid axis: a field and the values it takes.
#[derive(Debug, Clone)]
pub struct Axis {
    /// The name as written (`lr`, `optimizer.weight_decay`).
    pub name: String,
    pub values: Vec<Assignment>,
}

/// Where runs execute. None of this is part of a run's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Devices {
    /// Every visible GPU, or the CPU when there is none.
    Auto,
    Cpu,
    Cuda(Vec<u32>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Resources {
    pub devices: Devices,
    /// Concurrent runs per GPU; `None` = chosen from free memory.
    pub runs_per_gpu: Option<u32>,
    /// Torch threads per CPU run; `None` = cores / concurrent runs.
    pub cpu_threads_per_run: Option<u32>,
    /// Runs still training at the tail of a sweep take up the cores freed
    /// by ended runs, at their next epoch (off by default).
    pub grow_threads: bool,
}

impl Default for Resources {
    fn default() -> Self {
        Resources {
            devices: Devices::Auto,
            runs_per_gpu: None,
            cpu_threads_per_run: None,
            grow_threads: false,
        }
    }
}

/// What `--smoke` changes: a tiny version of every run, for CI.
#[derive(Debug, Clone, PartialEq)]
pub struct Smoke {
    pub epochs: u32,
    /// Cap on training samples (validation and test are capped in proportion).
    pub subset: u32,
    /// k for k-fold runs (the number of folds actually run is also capped to this).
    pub folds: u32,
    pub batch_size: Option<u32>,
    /// Resize inputs to this size (e.g. 224 px studies smoke-tested at 32 px).
    pub input_size: Option<u32>,
}

impl Default for Smoke {
    fn default() -> Self {
        Smoke {
            epochs: 1,
            subset: 256,
            folds: 2,
            batch_size: None,
            input_size: None,
        }
    }
}

/// Cluster settings from the file's `slurm:` block (the command line wins).
/// Like `resources`, none of it is part of a run's key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlurmDefaults {
    pub partition: Option<String>,
    pub account: Option<String>,
    pub time: Option<String>,
    pub gpus_per_run: Option<u32>,
    pub cpus_per_run: Option<u32>,
    pub mem: Option<String>,
    pub array_parallelism: Option<u32>,
    pub runs_per_task: Option<u32>,
    pub sbatch_args: Vec<String>,
}

/// The default ceiling on runs in one experiment; `max_runs:` raises it.
pub const DEFAULT_MAX_RUNS: usize = 50_000;

#[derive(Debug, Clone)]
pub struct Experiment {
    pub name: String,
    pub description: Option<String>,
    /// The file it came from (relative paths inside it resolve against its folder).
    pub file: PathBuf,
    /// `data.root` as written, resolved against the file's folder.
    pub data_root: Option<PathBuf>,
    /// Image-folder datasets declared under `data.image_folders`.
    pub image_folders: Vec<ImageFolderDecl>,
    /// The resolved-run JSON every grid point starts from (train block applied).
    pub base: Json,
    /// Grid axes in expansion order (see [`crate::expand`]).
    pub axes: Vec<Axis>,
    /// Groups of axis indices that vary together (`zip:`).
    pub zip: Vec<Vec<usize>>,
    /// Extra single configurations.
    pub include: Vec<Vec<Assignment>>,
    /// Configurations removed from the grid (a point matching every field of an entry).
    pub exclude: Vec<Vec<Assignment>>,
    pub resources: Resources,
    pub slurm: SlurmDefaults,
    pub smoke: Smoke,
    pub max_runs: usize,
    /// TorchScript modules named by `arch: {torchscript: PATH}`, by label.
    pub torchscript_models: Vec<TorchScriptDecl>,
    /// The programs of its training commands (`worker.command[0]`), which
    /// must exist only where runs start ([`Experiment::check_programs`]).
    pub programs: Vec<ProgramDecl>,
}

/// The program a training command names, where the file names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramDecl {
    /// As written: a name looked up on `PATH`, or a path.
    pub name: String,
    /// The field, e.g. `worker.command[0]`.
    pub field: String,
    pub pos: crate::spec::Pos,
    /// The experiment file's folder, against which a relative path counts.
    pub folder: PathBuf,
}

/// A TorchScript module an experiment trains: the label its runs carry
/// (`torchscript:<file stem>`) and the file, resolved against the
/// experiment's folder. Only the file's content enters a run's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorchScriptDecl {
    pub label: String,
    pub path: PathBuf,
}

/// An image-folder dataset as declared: what is hashed, and where it lives.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageFolderDecl {
    pub def: sweep_data::image_folder::ImageFolderDef,
    /// As written (after `~/` expansion); relative paths are inside the data root.
    pub path: PathBuf,
}

impl ImageFolderDecl {
    /// The folder's location for a given data root.
    pub fn resolve(&self, data_root: &Path) -> PathBuf {
        if self.path.is_absolute() {
            self.path.clone()
        } else {
            data_root.join(&self.path)
        }
    }
}

/// The environment variable that names the data folder when the file does not.
pub const DATA_DIR_ENV: &str = "SWEEP_DATA_DIR";

impl Experiment {
    /// Whether every training command's program can be found here: checked
    /// by the commands that start runs (`run`, `plan`, `validate`), not by
    /// those that only read results (`report` on a machine without the
    /// command's interpreter, say). `text` is the file's text, for the
    /// excerpt under each problem.
    pub fn check_programs(&self, text: &str) -> Result<(), crate::spec::SpecErrors> {
        let mut diagnostics: Vec<crate::spec::Diagnostic> = self
            .programs
            .iter()
            .filter_map(|p| {
                let why = crate::worker_command::find_program(&p.name, &p.folder).err()?;
                Some(crate::spec::Diagnostic {
                    pos: Some(p.pos),
                    path: p.field.clone(),
                    message: format!("{why}: the command cannot be started"),
                })
            })
            .collect();
        diagnostics.sort_by_key(|d| d.pos);
        diagnostics.dedup();
        if diagnostics.is_empty() {
            return Ok(());
        }
        Err(crate::spec::SpecErrors {
            file: self.file.clone(),
            source: text.to_string(),
            diagnostics,
        })
    }

    /// Data folder: the file's `data.root`, else `$SWEEP_DATA_DIR`, else
    /// `~/.cache/sweep/medmnist`.
    pub fn resolve_data_root(&self) -> PathBuf {
        if let Some(root) = &self.data_root {
            return root.clone();
        }
        default_data_root()
    }

    /// The declared image folder called `name` (with or without `synthetic:`).
    pub fn image_folder(&self, name: &str) -> Option<&ImageFolderDecl> {
        let base = name.strip_prefix("synthetic:").unwrap_or(name);
        self.image_folders.iter().find(|f| f.def.name == base)
    }

    /// The declared TorchScript module whose runs carry the label `arch`.
    pub fn torchscript_model(&self, arch: &str) -> Option<&TorchScriptDecl> {
        self.torchscript_models.iter().find(|d| d.label == arch)
    }

    pub fn folder(&self) -> &Path {
        self.file.parent().unwrap_or(Path::new("."))
    }

    /// Whether some run is trained by a command of the file's own
    /// (`worker:` at the top level, on a grid axis or in an include entry).
    pub fn runs_own_commands(&self) -> bool {
        let is_command = |a: &Assignment| a.run_path == "worker" && !a.value.is_null();
        !self.base["worker"].is_null()
            || self.axes.iter().flat_map(|a| &a.values).any(is_command)
            || self.include.iter().flatten().any(is_command)
    }
}

/// `$SWEEP_DATA_DIR`, else `~/.cache/sweep/medmnist`.
pub fn default_data_root() -> PathBuf {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("sweep").join("medmnist")
}
