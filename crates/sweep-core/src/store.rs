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
                    Err(why) => RunStatus::Stale(why),
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

    /// Full verification: sizes and sha256 of every recorded file.
    /// Fails with a readable reason when runs cannot be written here (a
    /// read-only folder or file system), before any run starts.
    pub fn check_writable(&self) -> Result<(), String> {
        let fail = |e: io::Error| {
            format!(
                "results folder {} is not writable: {e}; choose another with --results",
                self.root.display()
            )
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
    pub fn read_verified(dir: &Path, name: &str) -> Result<Vec<u8>, String> {
        let marker =
            fs::read(dir.join(COMPLETE_FILE)).map_err(|e| format!("no completion marker: {e}"))?;
        let c: Completion = serde_json::from_slice(&marker)
            .map_err(|e| format!("unreadable completion marker: {e}"))?;
        let recorded = c
            .files
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| format!("{name}: not recorded in the completion marker"))?;
        let bytes = fs::read(dir.join(name)).map_err(|e| format!("{name}: {e}"))?;
        if bytes.len() as u64 != recorded.bytes
            || hex::encode(Sha256::digest(&bytes)) != recorded.sha256
        {
            return Err(format!(
                "{name}: content changed since the run finished (re-run it with --force)"
            ));
        }
        Ok(bytes)
    }

    pub fn verify(&self, key: &RunKey) -> Result<(), String> {
        let dir = self.run_dir(key);
        let bytes =
            fs::read(dir.join(COMPLETE_FILE)).map_err(|e| format!("no completion marker: {e}"))?;
        let c: Completion = serde_json::from_slice(&bytes)
            .map_err(|e| format!("unreadable completion marker: {e}"))?;
        verify_sizes(&dir, &c)?;
        for f in &c.files {
            let digest = sha256_file(&dir.join(&f.name)).map_err(|e| format!("{}: {e}", f.name))?;
            if digest != f.sha256 {
                return Err(format!("{}: content changed since completion", f.name));
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

fn verify_sizes(dir: &Path, c: &Completion) -> Result<(), String> {
    for f in &c.files {
        match fs::metadata(dir.join(&f.name)) {
            Ok(m) if m.len() == f.bytes => {}
            Ok(m) => {
                return Err(format!(
                    "{}: {} bytes, expected {}",
                    f.name,
                    m.len(),
                    f.bytes
                ));
            }
            Err(_) => return Err(format!("{}: missing", f.name)),
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
        assert!(store.verify(&k).unwrap_err().contains("content changed"));
        // Truncation is caught by the cheap check.
        fs::write(dir.join(METRICS_FILE), b"{").unwrap();
        assert!(matches!(store.status(&k), RunStatus::Stale(_)));
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
