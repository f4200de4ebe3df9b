//! Checking local MedMNIST files against the official release.
//!
//! MedMNIST publishes an MD5 for every file, and `sweep` only trusts a data
//! file whose bytes are exactly the published ones: a truncated download, a
//! re-saved copy or a cut-down subset would otherwise train silently and give
//! numbers nobody can reproduce. This module answers two questions:
//!
//! * *What is in the data folder?* ([`local_state`]): missing, present,
//!   verified or corrupt, for `sweep data list`. Hashing a large file takes
//!   seconds, so an [`Md5Memo`] remembers each file's MD5 keyed by canonical
//!   path, size and modification time (nanoseconds), and an unchanged file is
//!   not read again.
//! * *Is this file really usable?* ([`verify_file`]): a fresh MD5 against the
//!   official one, then the full layout checks of [`load_medmnist`] and the
//!   official split sizes, for `sweep data verify`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use md5::Md5;

use crate::catalog::DatasetRef;
use crate::error::DataError;
use crate::medmnist::{Split, load_medmnist};
use crate::memo::{DigestMemo, Stamp, file_digest, hash_steady};

/// Name of the memo file inside the memo directory.
pub const MD5_MEMO_FILE_NAME: &str = "data-md5.json";

/// The field of a memo entry that holds the digest.
const DIGEST_FIELD: &str = "md5";

/// Lower-case hex MD5 of the file's bytes, read in 1 MiB pieces.
pub fn file_md5(path: &Path) -> Result<String, DataError> {
    file_digest::<Md5>(path)
}

/// `true` when `text` is 32 hexadecimal digits (either case).
pub fn is_md5_hex(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A memo of file MD5s, stored as JSON in a directory (created on first
/// write), or a no-op memo that always hashes.
///
/// The memo is only an optimisation: when it cannot be read it counts as
/// empty, and when it cannot be written the digest is still returned (the
/// next call simply hashes again). An entry is written only when the file's
/// size and modification time were the same before and after hashing, so a
/// file that was being rewritten is never memoised.
#[derive(Debug, Clone)]
pub struct Md5Memo {
    memo: Option<DigestMemo>,
}

impl Md5Memo {
    /// A memo stored in `dir/data-md5.json`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let file = dir.into().join(MD5_MEMO_FILE_NAME);
        Md5Memo {
            memo: Some(DigestMemo::new(file, DIGEST_FIELD)),
        }
    }

    /// A memo that remembers nothing: every call hashes.
    pub fn disabled() -> Self {
        Md5Memo { memo: None }
    }

    /// The memo file, if this memo is stored anywhere.
    pub fn file(&self) -> Option<PathBuf> {
        self.memo.as_ref().map(|m| m.file().to_path_buf())
    }

    /// The remembered MD5 of `path`, if there is an entry and the file's size
    /// and modification time still match it. Never reads the file's bytes.
    pub fn cached(&self, path: &Path) -> Option<String> {
        self.memo.as_ref()?.lookup(path)
    }

    /// The MD5 of `path`: from the memo when the file is unchanged, else by
    /// reading it (and remembering the result).
    pub fn md5(&self, path: &Path) -> Result<String, DataError> {
        if let Some(md5) = self.cached(path) {
            return Ok(md5);
        }
        self.rehash(path)
    }

    /// Reads and hashes `path` even if the memo has it, then remembers the
    /// result. For explicit verification, where bit rot under an unchanged
    /// modification time must be caught.
    pub fn rehash(&self, path: &Path) -> Result<String, DataError> {
        let hashed = hash_steady(path, file_md5)?;
        if let (Some(memo), Some(stamp)) = (&self.memo, hashed.steady) {
            // Only an optimisation: a memo that cannot be written is retried
            // by the next call.
            let _ = memo.remember(&hashed.canonical, stamp, &hashed.digest);
        }
        Ok(hashed.digest)
    }

    /// Remembers that `path`, as it is now, has MD5 `md5` (for a file whose
    /// digest was just computed elsewhere, such as a finished download).
    pub fn record(&self, path: &Path, md5: &str) -> io::Result<()> {
        let Some(memo) = &self.memo else {
            return Ok(());
        };
        let canonical = fs::canonicalize(path)?;
        match Stamp::of(&canonical)? {
            Some(stamp) => memo.remember(&canonical, stamp, &md5.to_ascii_lowercase()),
            None => Ok(()),
        }
    }
}

/// What the data folder holds for one dataset file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalState {
    /// No file under the official name.
    Missing,
    /// The file exists but its MD5 was not checked (quick listing, nothing
    /// memoised).
    Present,
    /// The file's MD5 equals the official one.
    Verified,
    /// The file's MD5 differs from the official one.
    Corrupt { actual_md5: String },
}

impl LocalState {
    /// `missing`, `present`, `verified` or `corrupt`.
    pub fn label(&self) -> &'static str {
        match self {
            LocalState::Missing => "missing",
            LocalState::Present => "present",
            LocalState::Verified => "verified",
            LocalState::Corrupt { .. } => "corrupt",
        }
    }
}

/// The state of `path` against `expected_md5`. With `hash` false the file's
/// bytes are never read: the memo answers if it can, else the state is
/// [`LocalState::Present`]. With `hash` true, a file the memo does not know
/// (or that changed) is hashed and memoised.
pub fn local_state(
    path: &Path,
    expected_md5: &str,
    memo: &Md5Memo,
    hash: bool,
) -> Result<LocalState, DataError> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => return Ok(LocalState::Missing),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(LocalState::Missing),
        Err(source) => {
            return Err(DataError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    }
    let md5 = if hash {
        Some(memo.md5(path)?)
    } else {
        memo.cached(path)
    };
    Ok(match md5 {
        None => LocalState::Present,
        Some(actual) if actual.eq_ignore_ascii_case(expected_md5) => LocalState::Verified,
        Some(actual) => LocalState::Corrupt { actual_md5: actual },
    })
}

/// The outcome of [`verify_file`]: every check's result, so a report can say
/// everything that is wrong with a file at once.
#[derive(Debug)]
pub struct FileVerdict {
    pub path: PathBuf,
    pub expected_md5: String,
    /// The file's MD5, or why it could not be read.
    pub actual_md5: Result<String, String>,
    /// `Ok` with the train/val/test sample counts when the file loads and
    /// passes every layout check, else the loader's message.
    pub layout: Result<[usize; 3], String>,
    /// The official train/val/test sample counts.
    pub official_splits: [usize; 3],
}

impl FileVerdict {
    /// MD5 matches the official one.
    pub fn md5_ok(&self) -> bool {
        matches!(&self.actual_md5, Ok(m) if m.eq_ignore_ascii_case(&self.expected_md5))
    }

    /// Loads, passes every layout check, and has the official split sizes.
    pub fn layout_ok(&self) -> bool {
        matches!(&self.layout, Ok(counts) if *counts == self.official_splits)
    }

    /// Every check passed.
    pub fn ok(&self) -> bool {
        self.md5_ok() && self.layout_ok()
    }

    /// One message per failed check (empty when [`Self::ok`]).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        match &self.actual_md5 {
            Ok(actual) if !self.md5_ok() => out.push(format!(
                "MD5 mismatch: expected {} (official), got {actual}",
                self.expected_md5
            )),
            Ok(_) => {}
            Err(e) => out.push(format!("cannot hash: {e}")),
        }
        match &self.layout {
            Ok(counts) if *counts != self.official_splits => out.push(format!(
                "split sizes {} differ from the official {}",
                splits_text(counts),
                splits_text(&self.official_splits)
            )),
            Ok(_) => {}
            Err(e) => out.push(e.clone()),
        }
        out
    }
}

/// `546/78/156`.
pub fn splits_text(counts: &[usize; 3]) -> String {
    format!("{}/{}/{}", counts[0], counts[1], counts[2])
}

/// Verifies the file at `path` as `dataset`: a fresh MD5 against
/// `expected_md5` (recorded in `memo`), then [`load_medmnist`] (keys, dtypes,
/// shapes, label ranges) and the official split sizes. All checks run even
/// when an earlier one fails.
///
/// Loading holds the decoded arrays in memory, as training would: a few MB
/// for 28 px files, up to about 14 GB for PathMNIST at 224 px.
pub fn verify_file(
    path: &Path,
    dataset: &DatasetRef,
    expected_md5: &str,
    memo: &Md5Memo,
) -> FileVerdict {
    let actual_md5 = memo.rehash(path).map_err(|e| e.to_string());
    let layout = load_medmnist(path, dataset)
        .map(|arrays| Split::ALL.map(|s| arrays.split(s).n))
        .map_err(|e| e.to_string());
    FileVerdict {
        path: path.to_path_buf(),
        expected_md5: expected_md5.to_ascii_lowercase(),
        actual_md5,
        layout,
        official_splits: dataset.info.splits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::medmnist::label_width;
    use crate::memo::BUFFER_BYTES;
    use crate::test_support::{U8Member, real_data_file, set_mtime, write_u8_npz};
    use md5::Digest;
    use std::time::{Duration, SystemTime};

    /// A valid BreastMNIST-shaped file with the given split sizes.
    fn write_breast(path: &Path, splits: [usize; 3]) {
        let dataset = DatasetRef::parse("breastmnist").unwrap();
        assert_eq!(label_width(dataset.info), 1);
        let mut members = Vec::new();
        for (split, n) in Split::ALL.iter().zip(splits) {
            members.push(U8Member {
                key: split.images_key(),
                shape: vec![n, 28, 28],
                data: (0..n * 28 * 28).map(|i| (i % 256) as u8).collect(),
            });
            members.push(U8Member {
                key: split.labels_key(),
                shape: vec![n, 1],
                data: (0..n).map(|i| (i % 2) as u8).collect(),
            });
        }
        write_u8_npz(path, &members);
    }

    #[test]
    fn md5_matches_rfc_1321_vectors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.bin");
        fs::write(&path, b"").unwrap();
        assert_eq!(file_md5(&path).unwrap(), "d41d8cd98f00b204e9800998ecf8427e");
        fs::write(&path, b"message digest").unwrap();
        assert_eq!(file_md5(&path).unwrap(), "f96b697d7cb7938d525a2f31aaf161d0");
        // Larger than one read buffer: must equal the one-shot digest.
        let big: Vec<u8> = (0..(BUFFER_BYTES * 2 + 7))
            .map(|i| (i % 251) as u8)
            .collect();
        fs::write(&path, &big).unwrap();
        assert_eq!(file_md5(&path).unwrap(), hex::encode(Md5::digest(&big)));
    }

    #[test]
    fn md5_hex_shape() {
        assert!(is_md5_hex("750601b1f35ba3300ea97c75c52ff8f6"));
        assert!(is_md5_hex("750601B1F35BA3300EA97C75C52FF8F6"));
        assert!(!is_md5_hex("750601b1f35ba3300ea97c75c52ff8f"));
        assert!(!is_md5_hex("750601b1f35ba3300ea97c75c52ff8fg"));
    }

    #[test]
    fn memo_answers_while_size_and_mtime_are_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let memo = Md5Memo::new(dir.path().join("memo"));
        let path = dir.path().join("x.npz");
        fs::write(&path, b"first").unwrap();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        set_mtime(&path, t0);
        assert_eq!(memo.cached(&path), None);
        let first = memo.md5(&path).unwrap();
        assert_eq!(first, hex::encode(Md5::digest(b"first")));
        assert!(memo.file().unwrap().is_file());

        // Same size and mtime, other bytes: the memo answers, so the file
        // was not read; a rehash reads it and updates the entry.
        fs::write(&path, b"FIRST").unwrap();
        set_mtime(&path, t0);
        assert_eq!(memo.cached(&path).as_deref(), Some(first.as_str()));
        assert_eq!(memo.md5(&path).unwrap(), first);
        let fresh = hex::encode(Md5::digest(b"FIRST"));
        assert_eq!(memo.rehash(&path).unwrap(), fresh);
        assert_eq!(memo.cached(&path).as_deref(), Some(fresh.as_str()));

        // A one-nanosecond mtime change invalidates the entry.
        set_mtime(&path, t0 + Duration::from_nanos(1));
        assert_eq!(memo.cached(&path), None);
        // So does a size change at the same mtime.
        memo.md5(&path).unwrap();
        fs::write(&path, b"longer").unwrap();
        set_mtime(&path, t0 + Duration::from_nanos(1));
        assert_eq!(memo.cached(&path), None);
        assert_eq!(
            memo.md5(&path).unwrap(),
            hex::encode(Md5::digest(b"longer"))
        );
    }

    #[test]
    fn disabled_and_unwritable_memos_still_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npz");
        fs::write(&path, b"payload").unwrap();
        let expected = hex::encode(Md5::digest(b"payload"));
        let off = Md5Memo::disabled();
        assert_eq!(off.md5(&path).unwrap(), expected);
        assert_eq!(off.cached(&path), None);
        off.record(&path, &expected).unwrap();

        // A regular file where the memo directory should be.
        let blocker = dir.path().join("blocker");
        fs::write(&blocker, b"").unwrap();
        let broken = Md5Memo::new(&blocker);
        assert_eq!(broken.md5(&path).unwrap(), expected);
        assert_eq!(broken.cached(&path), None);
        assert!(broken.record(&path, &expected).is_err());
    }

    #[test]
    fn corrupt_memo_counts_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npz");
        fs::write(&path, b"payload").unwrap();
        fs::write(dir.path().join(MD5_MEMO_FILE_NAME), b"{oops").unwrap();
        let memo = Md5Memo::new(dir.path());
        assert_eq!(memo.cached(&path), None);
        memo.md5(&path).unwrap();
        assert!(memo.cached(&path).is_some());
    }

    #[test]
    fn record_remembers_a_digest_without_reading() {
        let dir = tempfile::tempdir().unwrap();
        let memo = Md5Memo::new(dir.path().join("memo"));
        let path = dir.path().join("x.npz");
        fs::write(&path, b"abc").unwrap();
        memo.record(&path, "0123456789ABCDEF0123456789ABCDEF")
            .unwrap();
        assert_eq!(
            memo.cached(&path).as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
    }

    #[test]
    fn local_states() {
        let dir = tempfile::tempdir().unwrap();
        let memo = Md5Memo::new(dir.path().join("memo"));
        let path = dir.path().join("breastmnist.npz");
        let good = hex::encode(Md5::digest(b"official"));
        let state = |hash| local_state(&path, &good, &memo, hash).unwrap();

        assert_eq!(state(true), LocalState::Missing);
        assert_eq!(state(false), LocalState::Missing);
        fs::write(&path, b"official").unwrap();
        // Quick listing of an unknown file does not read it.
        assert_eq!(state(false), LocalState::Present);
        assert_eq!(state(true), LocalState::Verified);
        // Now memoised: the quick listing knows too.
        assert_eq!(state(false), LocalState::Verified);
        let upper = good.to_ascii_uppercase();
        assert_eq!(
            local_state(&path, &upper, &memo, false).unwrap(),
            LocalState::Verified
        );

        fs::write(&path, b"tampered!").unwrap();
        let bad = hex::encode(Md5::digest(b"tampered!"));
        assert_eq!(state(true), LocalState::Corrupt { actual_md5: bad });
        assert_eq!(state(true).label(), "corrupt");

        // A directory under the file's name is not the file.
        fs::remove_file(&path).unwrap();
        fs::create_dir(&path).unwrap();
        assert_eq!(state(true), LocalState::Missing);
    }

    #[test]
    fn verdict_reports_md5_layout_and_split_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let memo = Md5Memo::disabled();
        let dataset = DatasetRef::parse("breastmnist").unwrap();
        let path = dir.path().join("breastmnist.npz");

        // Right layout, official split sizes, but (of course) not the
        // official bytes.
        write_breast(&path, dataset.info.splits);
        let md5 = file_md5(&path).unwrap();
        let v = verify_file(&path, &dataset, &md5.to_ascii_uppercase(), &memo);
        assert!(v.ok(), "{:?}", v.problems());
        assert_eq!(v.layout.as_ref().unwrap(), &[546, 78, 156]);
        let v = verify_file(&path, &dataset, dataset.official_md5(), &memo);
        assert!(!v.ok() && !v.md5_ok() && v.layout_ok());
        let problems = v.problems();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].contains("750601b1f35ba3300ea97c75c52ff8f6") && problems[0].contains(&md5),
            "{problems:?}"
        );

        // A cut-down subset: loads, but split sizes differ.
        write_breast(&path, [5, 2, 3]);
        let md5 = file_md5(&path).unwrap();
        let v = verify_file(&path, &dataset, &md5, &memo);
        assert!(v.md5_ok() && !v.layout_ok());
        assert_eq!(
            v.problems(),
            ["split sizes 5/2/3 differ from the official 546/78/156"]
        );

        // Not an npz at all: both checks fail, both are reported.
        fs::write(&path, b"<html>rate limited</html>").unwrap();
        let v = verify_file(&path, &dataset, dataset.official_md5(), &memo);
        let problems = v.problems();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[1].contains("not an .npz"), "{problems:?}");

        // Missing file: reported, no panic.
        let gone = dir.path().join("gone.npz");
        let v = verify_file(&gone, &dataset, dataset.official_md5(), &memo);
        assert!(v.actual_md5.is_err() && v.layout.is_err());
    }

    #[test]
    fn real_file_verifies() {
        let Some(path) = real_data_file("breastmnist.npz") else {
            return;
        };
        let dataset = DatasetRef::parse("breastmnist").unwrap();
        let memo_dir = tempfile::tempdir().unwrap();
        let memo = Md5Memo::new(memo_dir.path());
        let v = verify_file(&path, &dataset, dataset.official_md5(), &memo);
        assert!(v.ok(), "{:?}", v.problems());
        assert_eq!(
            local_state(&path, dataset.official_md5(), &memo, false).unwrap(),
            LocalState::Verified
        );
    }
}
