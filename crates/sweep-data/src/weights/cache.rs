//! The folder converted weights live in, shared by every clone, and what it
//! holds for each catalogue name.
//!
//! `<dir>/<name>.safetensors` is the converted file a run loads;
//! `<dir>/<name>.json` is its record, written (atomically, after the file)
//! when it was pulled or imported: where it came from, the SHA-256 of the
//! published file, and the SHA-256 of the converted file, against which it
//! is checked from then on. Downloads in progress sit in `<dir>/downloads/`
//! (resumable `.part` files) and are deleted once converted.
//!
//! The folder is `$SWEEP_WEIGHTS_DIR`, else `$XDG_CACHE_HOME/sweep/weights`,
//! else `~/.cache/sweep/weights`. Digests are memoised by path, size and
//! modification time ([`crate::fingerprint::fingerprint_cached`]) so planning
//! a sweep does not re-read 300 MB files.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::catalog::Layout;
use crate::error::DataError;
use crate::fingerprint::{CACHE_FILE_NAME, file_fingerprint, fingerprint_cached};
use crate::memo::DigestMemo;

/// Environment variable naming the weights folder.
pub const DIR_ENV: &str = "SWEEP_WEIGHTS_DIR";

/// Environment variable naming a mirror that serves every catalogue file
/// under its file name (as `--base-url` does).
pub const URL_ENV: &str = "SWEEP_WEIGHTS_URL";

/// What the cache records about one converted file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightsRecord {
    pub name: String,
    pub arch: String,
    pub layout: Layout,
    /// Where the published file came from (a URL, or the imported file's path).
    pub source: String,
    /// Full SHA-256 of the published (or imported) file.
    pub source_sha256: String,
    /// Full SHA-256 of `<name>.safetensors`; every later use checks it.
    pub sha256: String,
    /// Size of `<name>.safetensors`.
    pub bytes: u64,
    /// Tensors in the converted file.
    pub tensors: usize,
    /// `sweep <version>` that converted it.
    pub converted_by: String,
}

/// How [`WeightsCache::state`] finds a file's digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// From the memo only; a file it does not know is `present`.
    Quick,
    /// From the memo when the file's size and modification time are
    /// unchanged, else by reading it (and remembering).
    Memoised,
    /// By reading every byte, so bit rot under an unchanged modification
    /// time is caught (`sweep weights verify`).
    Fresh,
}

/// What the folder holds for one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightsState {
    /// No converted file.
    Missing,
    /// A converted file whose digest was not checked (quick listing), or one
    /// without a record.
    Present,
    /// The converted file has the SHA-256 its record holds.
    Verified,
    /// The converted file's SHA-256 differs from its record.
    Corrupt { expected: String, actual: String },
}

impl WeightsState {
    /// `missing`, `present`, `verified` or `corrupt`.
    pub fn label(&self) -> &'static str {
        match self {
            WeightsState::Missing => "missing",
            WeightsState::Present => "present",
            WeightsState::Verified => "verified",
            WeightsState::Corrupt { .. } => "corrupt",
        }
    }
}

/// Why a named file cannot be used by a run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unusable {
    #[error(
        "pretrained weights `{name}` not found in {}; get them with `sweep weights pull {name}` (or `sweep run --pull`)",
        dir.display()
    )]
    Missing { name: String, dir: PathBuf },
    #[error(
        "{}: SHA-256 {actual} differs from the {expected} recorded when it was pulled; `sweep weights pull {name}` replaces it",
        path.display()
    )]
    Corrupt {
        name: String,
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{0}")]
    Unreadable(String),
}

/// The weights folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightsCache {
    dir: PathBuf,
}

impl WeightsCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        WeightsCache { dir: dir.into() }
    }

    /// `$SWEEP_WEIGHTS_DIR`, else `$XDG_CACHE_HOME/sweep/weights`, else
    /// `~/.cache/sweep/weights` (`./.sweep-weights` without a home).
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let dir = var(DIR_ENV).map(PathBuf::from).unwrap_or_else(|| {
            var("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .map_or_else(
                    || PathBuf::from(".sweep-weights"),
                    |c| c.join("sweep").join("weights"),
                )
        });
        WeightsCache::new(dir)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `<dir>/<name>.safetensors`.
    pub fn weights_file(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.safetensors"))
    }

    /// `<dir>/<name>.json`.
    pub fn record_file(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// Where the published file is downloaded to before conversion.
    pub fn download_file(&self, name: &str, file_name: &str) -> PathBuf {
        self.dir
            .join("downloads")
            .join(format!("{name}--{file_name}"))
    }

    /// The record of `name`, if one was written.
    pub fn read_record(&self, name: &str) -> Result<Option<WeightsRecord>, DataError> {
        let path = self.record_file(name);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(DataError::Io { path, source }),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| DataError::Io {
                path,
                source: io::Error::new(io::ErrorKind::InvalidData, e),
            })
    }

    /// Writes `record` atomically as `<dir>/<name>.json`.
    pub fn write_record(&self, record: &WeightsRecord) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
        crate::atomic::write_atomic(&self.record_file(&record.name), &json)
    }

    /// Names that have a record in the folder (pulled or imported), sorted.
    pub fn recorded_names(&self) -> Vec<String> {
        let Ok(listing) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = listing
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let file = e.file_name().into_string().ok()?;
                let name = file.strip_suffix(".json")?.to_string();
                self.weights_file(&name).is_file().then_some(name)
            })
            .collect();
        names.sort();
        names
    }

    /// The state of `name`, its digest found as `check` says.
    pub fn state(&self, name: &str, check: Check) -> Result<WeightsState, DataError> {
        let path = self.weights_file(name);
        if !path.is_file() {
            return Ok(WeightsState::Missing);
        }
        let Some(record) = self.read_record(name)? else {
            return Ok(WeightsState::Present);
        };
        let actual = match check {
            Check::Fresh => file_fingerprint(&path)?,
            Check::Memoised => fingerprint_cached(&path, Some(&self.dir))?,
            Check::Quick => {
                let memo = DigestMemo::new(self.dir.join(CACHE_FILE_NAME), "sha256");
                match memo.lookup(&path) {
                    Some(d) => d,
                    None => return Ok(WeightsState::Present),
                }
            }
        };
        Ok(if actual == record.sha256 {
            WeightsState::Verified
        } else {
            WeightsState::Corrupt {
                expected: record.sha256,
                actual,
            }
        })
    }

    /// The converted file of `name` and its SHA-256, checked against its
    /// record (memoised by size and modification time): what a run's key
    /// and its worker use.
    pub fn usable(&self, name: &str) -> Result<(PathBuf, String), Unusable> {
        let path = self.weights_file(name);
        let record = self
            .read_record(name)
            .map_err(|e| Unusable::Unreadable(e.to_string()))?;
        let (true, Some(record)) = (path.is_file(), record) else {
            return Err(Unusable::Missing {
                name: name.to_string(),
                dir: self.dir.clone(),
            });
        };
        let actual = fingerprint_cached(&path, Some(&self.dir))
            .map_err(|e| Unusable::Unreadable(e.to_string()))?;
        if actual != record.sha256 {
            return Err(Unusable::Corrupt {
                name: name.to_string(),
                path,
                expected: record.sha256,
                actual,
            });
        }
        Ok((path, actual))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, sha256: String) -> WeightsRecord {
        WeightsRecord {
            name: name.into(),
            arch: "resnet18".into(),
            layout: Layout::Torchvision,
            source: "http://127.0.0.1/r.pth".into(),
            source_sha256: "0".repeat(64),
            sha256,
            bytes: 5,
            tensors: 1,
            converted_by: "sweep test".into(),
        }
    }

    #[test]
    fn states_follow_the_file_and_its_record() {
        let dir = tempfile::tempdir().unwrap();
        let cache = WeightsCache::new(dir.path());
        assert_eq!(
            cache.state("r", Check::Fresh).unwrap(),
            WeightsState::Missing
        );
        let err = cache.usable("r").unwrap_err().to_string();
        assert!(err.contains("`sweep weights pull r`"), "{err}");

        let file = cache.weights_file("r");
        std::fs::write(&file, b"hello").unwrap();
        assert_eq!(
            cache.state("r", Check::Fresh).unwrap(),
            WeightsState::Present
        );
        let sha = file_fingerprint(&file).unwrap();
        cache.write_record(&record("r", sha.clone())).unwrap();
        assert_eq!(cache.read_record("r").unwrap().unwrap().sha256, sha);
        assert_eq!(
            cache.state("r", Check::Quick).unwrap(),
            WeightsState::Present
        );
        assert_eq!(
            cache.state("r", Check::Memoised).unwrap(),
            WeightsState::Verified
        );
        assert_eq!(
            cache.state("r", Check::Quick).unwrap(),
            WeightsState::Verified
        );
        assert_eq!(
            cache.state("r", Check::Fresh).unwrap(),
            WeightsState::Verified
        );
        assert_eq!(cache.usable("r").unwrap(), (file.clone(), sha.clone()));
        assert_eq!(cache.recorded_names(), ["r"]);

        // Same size, other bytes: a fresh hash sees it.
        std::fs::write(&file, b"jello").unwrap();
        match cache.state("r", Check::Fresh).unwrap() {
            WeightsState::Corrupt { expected, actual } => {
                assert_eq!(expected, sha);
                assert_eq!(actual, file_fingerprint(&file).unwrap());
            }
            other => panic!("{other:?}"),
        }
        std::fs::write(&file, b"changed size").unwrap();
        let err = cache.usable("r").unwrap_err();
        assert!(matches!(err, Unusable::Corrupt { .. }), "{err}");
    }

    #[test]
    fn the_folder_comes_from_the_environment_variable_first() {
        // Only reads the variables; the value under test is passed in.
        let cache = WeightsCache::new("/w");
        assert_eq!(cache.weights_file("a"), Path::new("/w/a.safetensors"));
        assert_eq!(cache.record_file("a"), Path::new("/w/a.json"));
        assert_eq!(
            cache.download_file("a", "a-1234abcd.pth"),
            Path::new("/w/downloads/a--a-1234abcd.pth")
        );
    }
}
