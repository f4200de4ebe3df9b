//! The results store: one folder per run key, and the rule for "done".
//!
//! ```text
//! results/<key>/spec.json         what was run (the hashed KeyInput) + where its data was
//!               metrics.json      final numbers (trainer)
//!               history.csv       one row per epoch (trainer)
//!               best.safetensors  weights of the best epoch (trainer)
//!               predictions.csv   test-set scores per class (trainer)
//!               worker.log        the worker's stderr
//!               failure.json      why the last attempt failed, if it did
//!               complete.json     written last: the list of files with sizes and sha256
//! ```
//!
//! A run is done only when `complete.json` exists and the files it lists are
//! present with the recorded sizes. Every file is written through
//! [`write_atomic`] (temp file, fsync, rename, fsync of the folder; the one
//! writer of the workspace, from [`sweep_data::atomic`]), so a crash at any
//! instant leaves either the old state or the new one, never a half-written
//! file under a final name, and never a run that looks done but is not.
//!
//! Reading a finished run can fail in the ways [`StoreError`] lists, each
//! naming the file involved.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::hash::{KeyInput, RunKey};

/// Replaces a file atomically and durably; re-exported so that writers of
/// run folders find it beside the layout they write.
pub use sweep_data::atomic::write_atomic;

pub const SPEC_FILE: &str = "spec.json";
pub const METRICS_FILE: &str = "metrics.json";
pub const HISTORY_FILE: &str = "history.csv";
pub const CHECKPOINT_FILE: &str = "best.safetensors";
pub const PREDICTIONS_FILE: &str = "predictions.csv";
pub const LOG_FILE: &str = "worker.log";
pub const FAILURE_FILE: &str = "failure.json";
pub const COMPLETE_FILE: &str = "complete.json";

/// The default results folder, relative to the working directory.
pub const DEFAULT_RESULTS_DIR: &str = "results";

/// `spec.json`: the key's inputs plus non-hashed facts the worker needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecFile {
    pub key: RunKey,
    pub input: KeyInput,
    /// Absolute path of the dataset file (absent for synthetic datasets). Not hashed.
    pub data_file: Option<PathBuf>,
    /// Experiment files that asked for this run (informational, not hashed).
    pub experiments: Vec<String>,
    /// The label `sweep run` reports the run under; the worker names the
    /// run's TensorBoard folder after it. Not hashed; absent in run folders
    /// prepared before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The folder a `worker:` command's program and code are found in (the
    /// experiment file's, absolute); absent for runs sweep's trainer trains.
    /// Not hashed: moving a project keeps its keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<PathBuf>,
}

/// A file recorded in `complete.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedFile {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

/// `complete.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completion {
    pub key: RunKey,
    pub files: Vec<RecordedFile>,
}

/// Why the last attempt of a run failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    Crashed,
    Diverged,
    Oom,
    Timeout,
    InvalidData,
    /// The run was given a GPU that its worker's libtorch cannot use (no
    /// CUDA in the build, a driver it cannot talk to, the card hidden).
    /// Training on the CPU instead would be silently tens of times slower.
    NoDevice,
    Interrupted,
    /// A training command of the experiment's own (`worker:`) exited 0 but
    /// left no predictions, or predictions that do not fit the run's data.
    InvalidOutput,
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = serde_json::to_value(self).ok();
        f.write_str(s.as_ref().and_then(|v| v.as_str()).unwrap_or("crashed"))
    }
}

/// `failure.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
    pub attempts: u32,
}

/// What the store knows about one key.
#[derive(Debug, Clone, PartialEq)]
pub enum RunStatus {
    /// Completion marker present and files verified.
    Done,
    /// The last attempt failed.
    Failed(Failure),
    /// A folder exists but the run is not complete (interrupted, or a
    /// completion marker whose files do not verify).
    Stale(String),
    /// Nothing there yet.
    Pending,
}

impl RunStatus {
    pub fn label(&self) -> &'static str {
        match self {
            RunStatus::Done => "done",
            RunStatus::Failed(_) => "failed",
            RunStatus::Stale(_) => "stale",
            RunStatus::Pending => "pending",
        }
    }
}

/// Why a results folder cannot be written, or a finished run's files cannot
/// be trusted. Every variant carries the path involved; the messages name
/// the file the way reports and the CLI have always shown it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The results folder cannot be created or written into.
    #[error("results folder {} is not writable: {error}; choose another with --results", path.display())]
    NotWritable { path: PathBuf, error: io::Error },
    /// `complete.json` is absent or unreadable.
    #[error("no completion marker: {error}")]
    NoCompletionMarker { path: PathBuf, error: io::Error },
    /// `complete.json` is not a completion record.
    #[error("unreadable completion marker: {error}")]
    UnreadableCompletionMarker {
        path: PathBuf,
        error: serde_json::Error,
    },
    /// The completion marker does not list the file asked for.
    #[error("{name}: not recorded in the completion marker")]
    NotRecorded { path: PathBuf, name: String },
    /// A recorded file is gone.
    #[error("{name}: missing")]
    Missing { path: PathBuf, name: String },
    /// A recorded file has another size than at completion.
    #[error("{name}: {bytes} bytes, expected {expected}")]
    SizeChanged {
        path: PathBuf,
        name: String,
        bytes: u64,
        expected: u64,
    },
    /// A recorded file has the recorded size but other content.
    #[error("{name}: content changed since the run finished (re-run it with --force)")]
    ContentChanged { path: PathBuf, name: String },
    /// A recorded file cannot be read.
    #[error("{name}: {error}")]
    Unreadable {
        path: PathBuf,
        name: String,
        error: io::Error,
    },
}

impl StoreError {
    /// The file or folder the error is about.
    pub fn path(&self) -> &Path {
        match self {
            StoreError::NotWritable { path, .. }
            | StoreError::NoCompletionMarker { path, .. }
            | StoreError::UnreadableCompletionMarker { path, .. }
            | StoreError::NotRecorded { path, .. }
            | StoreError::Missing { path, .. }
            | StoreError::SizeChanged { path, .. }
            | StoreError::ContentChanged { path, .. }
            | StoreError::Unreadable { path, .. } => path,
        }
    }
}

/// A results folder.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// Opens a store; the folder is created on first write, not here.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Store { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn run_dir(&self, key: &RunKey) -> PathBuf {
        self.root.join(key.as_str())
    }

    /// Cheap status: existence and sizes (a stat per file), for plan/status.
    pub fn status(&self, key: &RunKey) -> RunStatus {
        let dir = self.run_dir(key);
        match fs::read(dir.join(COMPLETE_FILE)) {
            Ok(bytes) => match serde_json::from_slice::<Completion>(&bytes) {
                Ok(c) if &c.key == key => match verify_sizes(&dir, &c) {
                    Ok(()) => RunStatus::Done,
                    Err(why) => RunStatus::Stale(why.to_string()),
                },
                Ok(_) => RunStatus::Stale("completion marker names another key".into()),
                Err(e) => RunStatus::Stale(format!("unreadable completion marker: {e}")),
            },
            Err(_) => {
                if let Ok(bytes) = fs::read(dir.join(FAILURE_FILE))
                    && let Ok(f) = serde_json::from_slice::<Failure>(&bytes)
                {
                    return RunStatus::Failed(f);
                }
                if dir.exists() {
                    RunStatus::Stale("incomplete (interrupted or still running)".into())
                } else {
                    RunStatus::Pending
                }
            }
        }
    }

    /// Fails with a readable reason when runs cannot be written here (a
    /// read-only folder or file system), before any run starts.
    pub fn check_writable(&self) -> Result<(), StoreError> {
        let fail = |error| StoreError::NotWritable {
            path: self.root.clone(),
            error,
        };
        fs::create_dir_all(&self.root).map_err(fail)?;
        let probe = self
            .root
            .join(format!(".write-check.{}", std::process::id()));
        File::create(&probe).map_err(fail)?;
        let _ = fs::remove_file(&probe);
        Ok(())
    }

    /// Reads `name` from a finished run folder, refusing it unless its
    /// size and sha256 are those recorded at completion. Readers of results
    /// (the report) use this so a file edited or damaged after the run
    /// finished never reaches a table, even when its size is unchanged.
    pub fn read_verified(dir: &Path, name: &str) -> Result<Vec<u8>, StoreError> {
        let c = read_completion(dir)?;
        let path = dir.join(name);
        let recorded =
            c.files
                .iter()
                .find(|f| f.name == name)
                .ok_or_else(|| StoreError::NotRecorded {
                    path: path.clone(),
                    name: name.to_string(),
                })?;
        let bytes = fs::read(&path).map_err(|error| StoreError::Unreadable {
            path: path.clone(),
            name: name.to_string(),
            error,
        })?;
        if bytes.len() as u64 != recorded.bytes
            || hex::encode(Sha256::digest(&bytes)) != recorded.sha256
        {
            return Err(StoreError::ContentChanged {
                path,
                name: name.to_string(),
            });
        }
        Ok(bytes)
    }

    /// Full verification: sizes and sha256 of every recorded file.
    pub fn verify(&self, key: &RunKey) -> Result<(), StoreError> {
        let dir = self.run_dir(key);
        let c = read_completion(&dir)?;
        verify_sizes(&dir, &c)?;
        for f in &c.files {
            let path = dir.join(&f.name);
            let digest = sha256_file(&path).map_err(|error| StoreError::Unreadable {
                path: path.clone(),
                name: f.name.clone(),
                error,
            })?;
            if digest != f.sha256 {
                return Err(StoreError::ContentChanged {
                    path,
                    name: f.name.clone(),
                });
            }
        }
        Ok(())
    }

    /// Creates the run folder and writes `spec.json` (atomically).
    pub fn prepare(&self, spec: &SpecFile) -> io::Result<PathBuf> {
        let dir = self.run_dir(&spec.key);
        fs::create_dir_all(&dir)?;
        let json = serde_json::to_vec_pretty(spec).map_err(io::Error::other)?;
        write_atomic(&dir.join(SPEC_FILE), &json)?;
        Ok(dir)
    }

    /// Reads `spec.json` of a run folder.
    pub fn read_spec(dir: &Path) -> io::Result<SpecFile> {
        let bytes = fs::read(dir.join(SPEC_FILE))?;
        serde_json::from_slice(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Marks a run done: records `files` (which must exist in the run folder)
    /// with sizes and digests, then writes `complete.json` last, atomically.
    /// Clears any earlier failure record.
    pub fn complete(dir: &Path, key: &RunKey, files: &[&str]) -> io::Result<()> {
        let mut recorded = Vec::with_capacity(files.len());
        for name in files {
            let path = dir.join(name);
            recorded.push(RecordedFile {
                name: (*name).to_string(),
                bytes: fs::metadata(&path)?.len(),
                sha256: sha256_file(&path)?,
            });
        }
        let completion = Completion {
            key: key.clone(),
            files: recorded,
        };
        let _ = fs::remove_file(dir.join(FAILURE_FILE));
        write_atomic(
            &dir.join(COMPLETE_FILE),
            &serde_json::to_vec_pretty(&completion).map_err(io::Error::other)?,
        )
    }

    /// Records a failed attempt (keeping the attempt count).
    pub fn fail(dir: &Path, kind: FailureKind, message: &str) -> io::Result<Failure> {
        let attempts = fs::read(dir.join(FAILURE_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice::<Failure>(&b).ok())
            .map_or(0, |f| f.attempts);
        let failure = Failure {
            kind,
            message: message.to_string(),
            attempts: attempts + 1,
        };
        write_atomic(
            &dir.join(FAILURE_FILE),
            &serde_json::to_vec_pretty(&failure).map_err(io::Error::other)?,
        )?;
        Ok(failure)
    }

    /// Removes a run's results so it trains again (`--force`).
    pub fn clear(&self, key: &RunKey) -> io::Result<()> {
        match fs::remove_dir_all(self.run_dir(key)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// Reads and parses `complete.json` of a run folder.
fn read_completion(dir: &Path) -> Result<Completion, StoreError> {
    let path = dir.join(COMPLETE_FILE);
    let bytes = fs::read(&path).map_err(|error| StoreError::NoCompletionMarker {
        path: path.clone(),
        error,
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|error| StoreError::UnreadableCompletionMarker { path, error })
}

/// The cheap check: every recorded file exists with its recorded size.
fn verify_sizes(dir: &Path, c: &Completion) -> Result<(), StoreError> {
    for f in &c.files {
        let path = dir.join(&f.name);
        match fs::metadata(&path) {
            Ok(m) if m.len() == f.bytes => {}
            Ok(m) => {
                return Err(StoreError::SizeChanged {
                    path,
                    name: f.name.clone(),
                    bytes: m.len(),
                    expected: f.bytes,
                });
            }
            Err(_) => {
                return Err(StoreError::Missing {
                    path,
                    name: f.name.clone(),
                });
            }
        }
    }
    Ok(())
}

/// sha256 of a file, streamed.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: char) -> RunKey {
        RunKey::parse(&c.to_string().repeat(64)).unwrap()
    }

    #[test]
    fn lifecycle_pending_stale_done_and_tamper() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().join("results"));
        let k = key('a');
        assert_eq!(store.status(&k), RunStatus::Pending);
        let dir = store.run_dir(&k);
        fs::create_dir_all(&dir).unwrap();
        write_atomic(&dir.join(METRICS_FILE), b"{\"x\":1}").unwrap();
        assert!(matches!(store.status(&k), RunStatus::Stale(_)));
        Store::complete(&dir, &k, &[METRICS_FILE]).unwrap();
        assert_eq!(store.status(&k), RunStatus::Done);
        assert!(store.verify(&k).is_ok());
        // Same size, different content: the cheap check passes, the full one does not.
        fs::write(dir.join(METRICS_FILE), b"{\"x\":2}").unwrap();
        assert_eq!(store.status(&k), RunStatus::Done);
        let err = store.verify(&k).unwrap_err();
        assert!(
            matches!(&err, StoreError::ContentChanged { name, .. } if name == METRICS_FILE),
            "{err}"
        );
        assert_eq!(err.path(), dir.join(METRICS_FILE));
        // Truncation is caught by the cheap check.
        fs::write(dir.join(METRICS_FILE), b"{").unwrap();
        assert_eq!(
            store.status(&k),
            RunStatus::Stale("metrics.json: 1 bytes, expected 7".into())
        );
    }

    #[test]
    fn read_verified_refuses_files_it_cannot_vouch_for() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let err = Store::read_verified(dir, METRICS_FILE).unwrap_err();
        assert!(
            matches!(err, StoreError::NoCompletionMarker { .. }),
            "{err}"
        );
        assert_eq!(err.path(), dir.join(COMPLETE_FILE));
        assert!(
            err.to_string().starts_with("no completion marker: "),
            "{err}"
        );

        fs::write(dir.join(COMPLETE_FILE), b"{").unwrap();
        let err = Store::read_verified(dir, METRICS_FILE).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("unreadable completion marker: "),
            "{err}"
        );

        write_atomic(&dir.join(METRICS_FILE), b"{\"auc\":0.9}").unwrap();
        Store::complete(dir, &key('c'), &[METRICS_FILE]).unwrap();
        assert_eq!(
            Store::read_verified(dir, METRICS_FILE).unwrap(),
            b"{\"auc\":0.9}"
        );
        let err = Store::read_verified(dir, HISTORY_FILE).unwrap_err();
        assert_eq!(
            err.to_string(),
            "history.csv: not recorded in the completion marker"
        );
        assert_eq!(err.path(), dir.join(HISTORY_FILE));

        fs::write(dir.join(METRICS_FILE), b"{\"auc\":1.0}").unwrap();
        let err = Store::read_verified(dir, METRICS_FILE).unwrap_err();
        assert_eq!(
            err.to_string(),
            "metrics.json: content changed since the run finished (re-run it with --force)"
        );
        fs::remove_file(dir.join(METRICS_FILE)).unwrap();
        let err = Store::read_verified(dir, METRICS_FILE).unwrap_err();
        assert!(matches!(err, StoreError::Unreadable { .. }), "{err}");
        assert!(err.to_string().starts_with("metrics.json: "), "{err}");
    }

    #[test]
    fn unwritable_results_folder_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        // A regular file where the results folder should be.
        let root = tmp.path().join("results");
        fs::write(&root, b"").unwrap();
        let err = Store::new(&root).check_writable().unwrap_err();
        assert_eq!(err.path(), root);
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "results folder {} is not writable: ",
                root.display()
            )) && text.ends_with("; choose another with --results"),
            "{text}"
        );
    }

    #[test]
    fn failures_count_attempts_and_completion_clears_them() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        let k = key('b');
        let dir = store.run_dir(&k);
        fs::create_dir_all(&dir).unwrap();
        Store::fail(&dir, FailureKind::Diverged, "loss is NaN at epoch 3").unwrap();
        let f = Store::fail(&dir, FailureKind::Crashed, "exit 134").unwrap();
        assert_eq!(f.attempts, 2);
        assert!(matches!(
            store.status(&k),
            RunStatus::Failed(Failure {
                kind: FailureKind::Crashed,
                ..
            })
        ));
        write_atomic(&dir.join(METRICS_FILE), b"{}").unwrap();
        Store::complete(&dir, &k, &[METRICS_FILE]).unwrap();
        assert_eq!(store.status(&k), RunStatus::Done);
        assert!(!dir.join(FAILURE_FILE).exists());
    }
}
