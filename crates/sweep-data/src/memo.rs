//! Remembering a file's digest while the file is unchanged, so large data
//! files are not read again for every run of a sweep.
//!
//! Both content fingerprints (SHA-256, [`crate::fingerprint`]) and release
//! checks (MD5, [`crate::verify`]) hash files of up to several GB, and ask
//! for the same files again and again. A [`DigestMemo`] is a small JSON file
//! mapping each file's canonical path to its size, modification time (to the
//! nanosecond) and digest; a file whose size and modification time still
//! match is not read. A digest is remembered only when the file had the same
//! size and modification time before and after it was read
//! ([`hash_steady`]), so a file being rewritten meanwhile is never memoised.
//!
//! The file layout is the one both memos have always used, with the digest
//! under a field named after its algorithm:
//!
//! ```json
//! { "format": 1,
//!   "entries": { "/data/breastmnist.npz":
//!                { "size": 559580, "mtime_s": 1700000000, "mtime_ns": 0, "sha256": "3a22…" } } }
//! ```
//!
//! A memo that cannot be read, or is of another format, counts as empty and
//! is rewritten on the next write.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::error::DataError;

/// Format version of memo files; a memo of another version is ignored.
const MEMO_FORMAT: u32 = 1;

/// Size and modification time: what says "unchanged" without reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    size: u64,
    mtime_s: i64,
    mtime_ns: u32,
}

impl Stamp {
    /// `None` when the platform cannot report a modification time (then
    /// nothing is memoised).
    pub(crate) fn of(path: &Path) -> io::Result<Option<Stamp>> {
        let meta = fs::metadata(path)?;
        let Ok(modified) = meta.modified() else {
            return Ok(None);
        };
        let (mtime_s, mtime_ns) = match modified.duration_since(UNIX_EPOCH) {
            Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
            Err(e) => {
                let d = e.duration();
                (-(d.as_secs() as i64), d.subsec_nanos())
            }
        };
        Ok(Some(Stamp {
            size: meta.len(),
            mtime_s,
            mtime_ns,
        }))
    }
}

/// A digest just computed by [`hash_steady`].
#[derive(Debug)]
pub(crate) struct Hashed {
    /// The file's canonical path (what the memo is keyed by).
    pub canonical: PathBuf,
    pub digest: String,
    /// The file's stamp, when it was the same before and after reading and
    /// so may be memoised.
    pub steady: Option<Stamp>,
}

/// Hashes the file at `path` (through its canonical path) with `hash`,
/// noting whether it stayed unchanged while it was read. A file that cannot
/// be found or stat'ed is an I/O error naming `path`.
pub(crate) fn hash_steady(
    path: &Path,
    hash: impl FnOnce(&Path) -> Result<String, DataError>,
) -> Result<Hashed, DataError> {
    let io_err = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let canonical = fs::canonicalize(path).map_err(io_err)?;
    let before = Stamp::of(&canonical).map_err(io_err)?;
    let digest = hash(&canonical)?;
    let after = Stamp::of(&canonical).map_err(io_err)?;
    let steady = before.filter(|_| before == after);
    Ok(Hashed {
        canonical,
        digest,
        steady,
    })
}

/// A memo file of digests of one kind (its field name, such as `sha256`).
#[derive(Debug, Clone)]
pub(crate) struct DigestMemo {
    file: PathBuf,
    digest_field: &'static str,
}

impl DigestMemo {
    /// The memo stored in `file`, recording digests under `digest_field`.
    pub(crate) fn new(file: PathBuf, digest_field: &'static str) -> Self {
        DigestMemo { file, digest_field }
    }

    /// Where the memo is stored.
    pub(crate) fn file(&self) -> &Path {
        &self.file
    }

    /// The remembered digest of the file at `path`, if the memo has one and
    /// the file's size and modification time still match it. Never reads
    /// the file's bytes; a file that cannot be found has no digest here.
    pub(crate) fn lookup(&self, path: &Path) -> Option<String> {
        let canonical = fs::canonicalize(path).ok()?;
        let now = Stamp::of(&canonical).ok()??;
        let mut memo = MemoFile::load(&self.file);
        let entry = memo.entries.remove(&key_of(&canonical))?;
        (entry.stamp() == now)
            .then(|| entry.digests.get(self.digest_field).cloned())
            .flatten()
    }

    /// Remembers that the file at `canonical`, as of `stamp`, has `digest`.
    /// Creates the memo's folder if needed, and reloads the memo just before
    /// writing so entries other processes added meanwhile are kept.
    pub(crate) fn remember(&self, canonical: &Path, stamp: Stamp, digest: &str) -> io::Result<()> {
        if let Some(dir) = self.file.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)?;
        }
        let mut memo = MemoFile::load(&self.file);
        memo.entries.insert(
            key_of(canonical),
            Entry {
                size: stamp.size,
                mtime_s: stamp.mtime_s,
                mtime_ns: stamp.mtime_ns,
                digests: BTreeMap::from([(self.digest_field.to_string(), digest.to_string())]),
            },
        );
        let json = serde_json::to_vec_pretty(&memo).map_err(io::Error::other)?;
        crate::atomic::write_atomic(&self.file, &json)
    }
}

fn key_of(canonical: &Path) -> String {
    canonical.to_string_lossy().into_owned()
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    size: u64,
    mtime_s: i64,
    mtime_ns: u32,
    /// The digest under its algorithm's name (one field in practice).
    #[serde(flatten)]
    digests: BTreeMap<String, String>,
}

impl Entry {
    fn stamp(&self) -> Stamp {
        Stamp {
            size: self.size,
            mtime_s: self.mtime_s,
            mtime_ns: self.mtime_ns,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct MemoFile {
    format: u32,
    /// Canonical path -> entry.
    entries: BTreeMap<String, Entry>,
}

impl MemoFile {
    fn load(path: &Path) -> MemoFile {
        fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<MemoFile>(&bytes).ok())
            .filter(|memo| memo.format == MEMO_FORMAT)
            .unwrap_or(MemoFile {
                format: MEMO_FORMAT,
                entries: BTreeMap::new(),
            })
    }
}

/// How much of a file [`file_digest`] reads at a time.
pub(crate) const BUFFER_BYTES: usize = 1 << 20;

/// Lower-case hex digest (`D` = SHA-256, MD5, ...) of a file's bytes, read
/// in 1 MiB pieces: what a memo entry records.
pub(crate) fn file_digest<D: Digest>(path: &Path) -> Result<String, DataError> {
    let io_err = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = fs::File::open(path).map_err(io_err)?;
    let mut hasher = D::new();
    let mut buffer = vec![0u8; BUFFER_BYTES];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buffer[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(e)),
        }
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::set_mtime;
    use std::time::{Duration, SystemTime};

    fn length_digest(path: &Path) -> Result<String, DataError> {
        Ok(fs::metadata(path).unwrap().len().to_string())
    }

    #[test]
    fn memo_files_written_before_the_shared_memo_are_still_used() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.npz");
        fs::write(&path, b"payload").unwrap();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        set_mtime(&path, t0 + Duration::from_nanos(42));
        let key = fs::canonicalize(&path).unwrap();
        // Byte for byte what the fingerprint memo wrote before.
        let old = format!(
            "{{\n  \"format\": 1,\n  \"entries\": {{\n    {}: {{\n      \"size\": 7,\n      \
             \"mtime_s\": 1700000000,\n      \"mtime_ns\": 42,\n      \"sha256\": \"cafe\"\n    }}\n  }}\n}}",
            serde_json::to_string(key.to_str().unwrap()).unwrap()
        );
        let file = dir.path().join("file-fingerprints.json");
        fs::write(&file, &old).unwrap();
        let memo = DigestMemo::new(file.clone(), "sha256");
        assert_eq!(memo.lookup(&path).as_deref(), Some("cafe"));
        // The same entry under another algorithm's name is not an answer.
        assert_eq!(DigestMemo::new(file.clone(), "md5").lookup(&path), None);

        // Writing the same entry back reproduces the old file exactly.
        let stamp = Stamp::of(&key).unwrap().unwrap();
        memo.remember(&key, stamp, "cafe").unwrap();
        assert_eq!(fs::read_to_string(&file).unwrap(), old);
    }

    #[test]
    fn steady_files_are_remembered_and_changes_invalidate_them() {
        let dir = tempfile::tempdir().unwrap();
        let memo = DigestMemo::new(dir.path().join("memo/digests.json"), "md5");
        let path = dir.path().join("x.npz");
        fs::write(&path, b"first").unwrap();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        set_mtime(&path, t0);
        assert_eq!(memo.lookup(&path), None);

        let hashed = hash_steady(&path, length_digest).unwrap();
        assert_eq!(hashed.canonical, fs::canonicalize(&path).unwrap());
        let stamp = hashed.steady.expect("unchanged while read");
        memo.remember(&hashed.canonical, stamp, "d1").unwrap();
        assert_eq!(memo.lookup(&path).as_deref(), Some("d1"));

        set_mtime(&path, t0 + Duration::from_nanos(1));
        assert_eq!(memo.lookup(&path), None);
        fs::write(&path, b"second").unwrap();
        set_mtime(&path, t0);
        assert_eq!(memo.lookup(&path), None, "size changed at the same mtime");
        assert_eq!(memo.lookup(&dir.path().join("gone")), None);
    }

    #[test]
    fn a_file_rewritten_while_read_is_not_steady() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npz");
        fs::write(&path, b"before").unwrap();
        let hashed = hash_steady(&path, |p| {
            fs::write(p, b"rewritten meanwhile").unwrap();
            Ok("d".into())
        })
        .unwrap();
        assert_eq!(hashed.steady, None);
        let err = hash_steady(&dir.path().join("gone"), length_digest).unwrap_err();
        assert!(matches!(err, DataError::Io { ref path, .. } if path.ends_with("gone")));
    }

    #[test]
    fn entries_of_other_files_are_kept_and_corrupt_memos_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("memo.json");
        fs::write(&file, b"{not json").unwrap();
        let memo = DigestMemo::new(file.clone(), "sha256");
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        for (p, d) in [(&a, "da"), (&b, "db")] {
            fs::write(p, d).unwrap();
            let hashed = hash_steady(p, length_digest).unwrap();
            memo.remember(&hashed.canonical, hashed.steady.unwrap(), d)
                .unwrap();
        }
        assert_eq!(memo.lookup(&a).as_deref(), Some("da"));
        assert_eq!(memo.lookup(&b).as_deref(), Some("db"));
        let blocked = DigestMemo::new(a.join("memo.json"), "sha256");
        let hashed = hash_steady(&b, length_digest).unwrap();
        assert!(
            blocked
                .remember(&hashed.canonical, hashed.steady.unwrap(), "x")
                .is_err()
        );
    }
}
