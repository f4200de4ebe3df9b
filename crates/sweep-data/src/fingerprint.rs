//! Content fingerprints of datasets.
//!
//! A run's identity, and so whether a finished result can be reused, must
//! change when its data changes, not when a file is merely moved or renamed.
//! The fingerprint of a dataset file is therefore the SHA-256 of its bytes;
//! the fingerprint of a synthetic dataset is the SHA-256 of everything that
//! determines its output (generator version, dataset facts, scale, seed).
//!
//! Hashing an 80 MB file takes a fraction of a second, but planning a sweep
//! asks for the same fingerprints once per run, thousands of times. So
//! [`fingerprint_cached`] keeps a small JSON memo in a cache directory, keyed
//! by canonical path, size and modification time in nanoseconds: a file whose
//! size and mtime are unchanged is not read again (see [`crate::memo`]).

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::catalog::DatasetRef;
use crate::error::DataError;
use crate::memo::{DigestMemo, file_digest, hash_steady};
use crate::synthetic::{GENERATOR_VERSION, synthetic_split_sizes};

/// Name of the memo file inside the cache directory.
pub const CACHE_FILE_NAME: &str = "file-fingerprints.json";

/// The field of a memo entry that holds the digest.
const DIGEST_FIELD: &str = "sha256";

/// Hex SHA-256 of the file's bytes, read in 1 MiB pieces.
pub fn file_fingerprint(path: &Path) -> Result<String, DataError> {
    file_digest::<Sha256>(path)
}

/// Like [`file_fingerprint`], but memoised in `cache_dir` (created if needed)
/// when one is given.
///
/// An unreadable or malformed memo is treated as empty and rewritten. Failing
/// to write the memo is an error ([`DataError::Cache`]), since the caller
/// asked for caching.
pub fn fingerprint_cached(path: &Path, cache_dir: Option<&Path>) -> Result<String, DataError> {
    let Some(cache_dir) = cache_dir else {
        return file_fingerprint(path);
    };
    let memo = DigestMemo::new(cache_dir.join(CACHE_FILE_NAME), DIGEST_FIELD);
    if let Some(digest) = memo.lookup(path) {
        return Ok(digest);
    }
    let hashed = hash_steady(path, file_fingerprint)?;
    if let Some(stamp) = hashed.steady {
        memo.remember(&hashed.canonical, stamp, &hashed.digest)
            .map_err(|source| DataError::Cache {
                path: memo.file().to_path_buf(),
                source,
            })?;
    }
    Ok(hashed.digest)
}

/// Hex SHA-256 identifying a synthetic dataset: the generator version and
/// every input that shapes its output. `scale` enters through the split
/// sizes it resolves to, so scales that yield the same data (any scale at or
/// above the official train count, or `None`) share a fingerprint.
pub fn synthetic_fingerprint(dataset: &DatasetRef, scale: Option<usize>, seed: u64) -> String {
    let info = dataset.info;
    let sizes = synthetic_split_sizes(dataset, scale);
    let description = format!(
        "sweep synthetic dataset\n\
         generator={GENERATOR_VERSION}\n\
         name={}\nsize={}\nchannels={}\ntask={}\nlabels={}\n\
         prevalence={:?}\nsplits={:?}\nseed={seed}\n",
        info.name,
        dataset.size,
        info.channels,
        info.task,
        info.labels.len(),
        info.prevalence,
        sizes,
    );
    hex::encode(Sha256::digest(description.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memo::BUFFER_BYTES;
    use crate::test_support::{real_data_file, set_mtime};
    use std::fs;
    use std::time::{Duration, SystemTime};

    /// The entries of a memo file, by canonical path.
    fn memo_entries(file: &Path) -> serde_json::Map<String, serde_json::Value> {
        let memo: serde_json::Value = serde_json::from_slice(&fs::read(file).unwrap()).unwrap();
        assert_eq!(memo["format"], 1);
        memo["entries"].as_object().unwrap().clone()
    }

    #[test]
    fn hashes_file_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.bin");
        fs::write(&path, b"abc").unwrap();
        // FIPS 180-2 test vector for "abc".
        assert_eq!(
            file_fingerprint(&path).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // Larger than one read buffer: must equal the one-shot digest.
        let big: Vec<u8> = (0..(BUFFER_BYTES * 2 + 123))
            .map(|i| (i % 253) as u8)
            .collect();
        fs::write(&path, &big).unwrap();
        assert_eq!(
            file_fingerprint(&path).unwrap(),
            hex::encode(Sha256::digest(&big))
        );
    }

    #[test]
    fn missing_file_is_an_io_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone.npz");
        let err = file_fingerprint(&path).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!("{}:", path.display())),
            "{err}"
        );
        let err = fingerprint_cached(&path, Some(dir.path())).unwrap_err();
        assert!(matches!(err, DataError::Io { .. }), "{err}");
    }

    #[test]
    fn memo_is_used_while_size_and_mtime_are_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let path = dir.path().join("data.npz");
        fs::write(&path, b"first").unwrap();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        set_mtime(&path, t0);

        let first = fingerprint_cached(&path, Some(&cache)).unwrap();
        assert_eq!(first, hex::encode(Sha256::digest(b"first")));
        assert!(cache.join(CACHE_FILE_NAME).is_file());

        // Same size, same mtime, different bytes: the memo answers, which
        // proves the file was not read again.
        fs::write(&path, b"FIRST").unwrap();
        set_mtime(&path, t0);
        assert_eq!(fingerprint_cached(&path, Some(&cache)).unwrap(), first);
        // Without the cache the real content is hashed.
        assert_eq!(
            fingerprint_cached(&path, None).unwrap(),
            hex::encode(Sha256::digest(b"FIRST"))
        );

        // A one-nanosecond mtime change invalidates the entry.
        set_mtime(&path, t0 + Duration::from_nanos(1));
        assert_eq!(
            fingerprint_cached(&path, Some(&cache)).unwrap(),
            hex::encode(Sha256::digest(b"FIRST"))
        );

        // So does a size change at the same mtime.
        fs::write(&path, b"second!").unwrap();
        set_mtime(&path, t0);
        assert_eq!(
            fingerprint_cached(&path, Some(&cache)).unwrap(),
            hex::encode(Sha256::digest(b"second!"))
        );
    }

    #[test]
    fn memo_is_keyed_by_canonical_path() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        fs::create_dir(dir.path().join("sub")).unwrap();
        let path = dir.path().join("data.npz");
        fs::write(&path, b"x").unwrap();
        fingerprint_cached(&path, Some(&cache)).unwrap();
        fingerprint_cached(&dir.path().join("sub/../data.npz"), Some(&cache)).unwrap();
        let entries = memo_entries(&cache.join(CACHE_FILE_NAME));
        assert_eq!(entries.len(), 1);
        let key = fs::canonicalize(&path).unwrap();
        let entry = &entries[key.to_str().unwrap()];
        assert_eq!(entry["size"], 1);
        assert_eq!(entry["sha256"], hex::encode(Sha256::digest(b"x")));
    }

    #[test]
    fn corrupt_memo_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.npz");
        fs::write(&path, b"payload").unwrap();
        fs::write(dir.path().join(CACHE_FILE_NAME), b"{not json").unwrap();
        let digest = fingerprint_cached(&path, Some(dir.path())).unwrap();
        assert_eq!(digest, hex::encode(Sha256::digest(b"payload")));
        assert_eq!(memo_entries(&dir.path().join(CACHE_FILE_NAME)).len(), 1);
    }

    #[test]
    fn unwritable_cache_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.npz");
        fs::write(&path, b"payload").unwrap();
        // A regular file where the cache directory should be.
        let blocker = dir.path().join("cache");
        fs::write(&blocker, b"").unwrap();
        let err = fingerprint_cached(&path, Some(&blocker)).unwrap_err();
        assert!(matches!(err, DataError::Cache { .. }), "{err}");
    }

    #[test]
    fn synthetic_fingerprint_covers_every_input() {
        let chest = DatasetRef::parse("synthetic:chestmnist").unwrap();
        let base = synthetic_fingerprint(&chest, Some(512), 1);
        assert_eq!(base.len(), 64);
        assert_eq!(base, synthetic_fingerprint(&chest, Some(512), 1));
        let others = [
            synthetic_fingerprint(&chest, Some(512), 2),
            synthetic_fingerprint(&chest, Some(256), 1),
            synthetic_fingerprint(&chest, None, 1),
            synthetic_fingerprint(
                &DatasetRef::parse("synthetic:chestmnist_64").unwrap(),
                Some(512),
                1,
            ),
            synthetic_fingerprint(
                &DatasetRef::parse("synthetic:breastmnist").unwrap(),
                Some(512),
                1,
            ),
        ];
        for other in &others {
            assert_ne!(&base, other);
        }
        // Scales at or above the official train size produce the same data,
        // and so the same fingerprint.
        let breast = DatasetRef::parse("synthetic:breastmnist").unwrap();
        let full = synthetic_fingerprint(&breast, None, 1);
        assert_eq!(synthetic_fingerprint(&breast, Some(546), 1), full);
        assert_eq!(synthetic_fingerprint(&breast, Some(10_000), 1), full);
        assert_ne!(synthetic_fingerprint(&breast, Some(545), 1), full);
    }

    #[test]
    fn real_file_matches_published_sha256() {
        let Some(path) = real_data_file("breastmnist.npz") else {
            return;
        };
        let cache = tempfile::tempdir().unwrap();
        let expected = "3a22d2a4625e7dd8903f0f59030e81a3d0c222bece2e5e10927456cb50efdec1";
        assert_eq!(file_fingerprint(&path).unwrap(), expected);
        assert_eq!(
            fingerprint_cached(&path, Some(cache.path())).unwrap(),
            expected
        );
        assert_eq!(
            fingerprint_cached(&path, Some(cache.path())).unwrap(),
            expected
        );
    }
}
