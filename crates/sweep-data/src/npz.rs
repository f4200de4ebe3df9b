//! Reading named arrays out of NumPy `.npz` archives.
//!
//! An `.npz` is a zip with one `<key>.npy` member per array, stored or
//! deflated. MedMNIST files hold six arrays, and a caller often needs only
//! some of them (the labels, to plan folds), so members are opened on demand
//! by key and nothing else is decompressed.
//!
//! The archive is untrusted: before any buffer for an array exists, the size
//! its header declares must equal the member's uncompressed size recorded in
//! the zip directory and must not exceed a configurable limit
//! ([`DEFAULT_MAX_ARRAY_BYTES`] unless changed). Decompression then stops at
//! the declared size, so a zip bomb fails with an error instead of exhausting
//! memory.
//!
//! [`NpzFile::from_reader`] reads an archive from any seekable reader (an
//! in-memory buffer, say), so the parser can be fuzzed and tested without
//! touching the file system.

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use zip::ZipArchive;
use zip::result::ZipError;

use crate::error::DataError;
use crate::npy::{NpyArray, read_npy};

/// Default cap on one array's data: 16 GiB. The largest array in the
/// catalog, PathMNIST's 224 px train images (89,996 x 224 x 224 x 3), is
/// 13.5 GB, so every official file loads under the default while a forged
/// header claiming terabytes is refused.
pub const DEFAULT_MAX_ARRAY_BYTES: u64 = 16 << 30;

/// An open `.npz` archive, read from a file unless built with
/// [`NpzFile::from_reader`].
pub struct NpzFile<R = BufReader<File>> {
    path: PathBuf,
    archive: ZipArchive<R>,
    max_array_bytes: u64,
}

impl<R: Read + Seek> std::fmt::Debug for NpzFile<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpzFile")
            .field("path", &self.path)
            .field("members", &self.archive.len())
            .field("max_array_bytes", &self.max_array_bytes)
            .finish()
    }
}

impl NpzFile {
    /// Opens the archive and reads its zip directory (no array data yet).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, DataError> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|source| DataError::Io {
            path: path.clone(),
            source,
        })?;
        NpzFile::from_reader(BufReader::new(file), path)
    }
}

impl<R: Read + Seek> NpzFile<R> {
    /// Reads the zip directory from `reader`; `path` only names the archive
    /// in error messages.
    pub fn from_reader(reader: R, path: impl Into<PathBuf>) -> Result<Self, DataError> {
        let path = path.into();
        let archive = ZipArchive::new(reader).map_err(|e| match e {
            ZipError::Io(source) if source.kind() != std::io::ErrorKind::UnexpectedEof => {
                DataError::Io {
                    path: path.clone(),
                    source,
                }
            }
            other => DataError::NotZip {
                path: path.clone(),
                detail: other.to_string(),
            },
        })?;
        Ok(NpzFile {
            path,
            archive,
            max_array_bytes: DEFAULT_MAX_ARRAY_BYTES,
        })
    }

    /// Sets the largest array (in data bytes) that [`Self::read`] will accept.
    pub fn with_max_array_bytes(mut self, limit: u64) -> Self {
        self.max_array_bytes = limit;
        self
    }

    /// The path the archive was opened from (or named by in [`Self::from_reader`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Array keys in archive order (member names without `.npy`).
    pub fn keys(&self) -> Vec<String> {
        self.archive
            .file_names()
            .filter_map(Result::ok)
            .filter_map(|name| name.strip_suffix(".npy").map(str::to_string))
            .collect()
    }

    /// Whether the archive has an array called `key`.
    pub fn contains(&self, key: &str) -> bool {
        self.archive.index_for_name(&member_name(key)).is_some()
    }

    /// Reads and checks the array stored under `key`.
    pub fn read(&mut self, key: &str) -> Result<NpyArray, DataError> {
        let name = member_name(key);
        let Some(index) = self.archive.index_for_name(&name) else {
            let keys = self.keys();
            return Err(DataError::MissingKey {
                path: self.path.clone(),
                key: key.to_string(),
                available: if keys.is_empty() {
                    "none".to_string()
                } else {
                    keys.join(", ")
                },
            });
        };
        let limit = self.max_array_bytes;
        let mut member = self
            .archive
            .by_index(index)
            .map_err(|e| DataError::Member {
                path: self.path.clone(),
                key: key.to_string(),
                detail: e.to_string(),
            })?;
        let size = member.size();
        read_npy(&mut member, Some(size), limit).map_err(|source| DataError::Npy {
            path: self.path.clone(),
            key: key.to_string(),
            source,
        })
    }
}

fn member_name(key: &str) -> String {
    format!("{key}.npy")
}

/// Opens `path` and reads exactly the arrays named in `keys`, in that order.
pub fn read_npz(path: impl AsRef<Path>, keys: &[&str]) -> Result<Vec<NpyArray>, DataError> {
    let mut npz = NpzFile::open(path)?;
    keys.iter().map(|key| npz.read(key)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::npy::{Dtype, NpyError};
    use crate::test_support::{npy_bytes, write_zip};
    use zip::CompressionMethod::{Deflated, Stored};

    fn sample_npz(dir: &Path) -> PathBuf {
        let path = dir.join("sample.npz");
        let images: Vec<u8> = (0..2 * 3 * 3).map(|i| i as u8).collect();
        let mut floats = Vec::new();
        for v in [0.5f32, -2.0] {
            floats.extend_from_slice(&v.to_le_bytes());
        }
        write_zip(
            &path,
            &[
                (
                    "images.npy",
                    &npy_bytes(1, "|u1", false, &[2, 3, 3], &images),
                    Deflated,
                ),
                (
                    "scores.npy",
                    &npy_bytes(2, "<f4", false, &[2], &floats),
                    Stored,
                ),
                (
                    "flags.npy",
                    &npy_bytes(3, "|b1", false, &[2], &[1, 0]),
                    Deflated,
                ),
            ],
        );
        path
    }

    #[test]
    fn reads_stored_and_deflated_members_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = sample_npz(dir.path());
        let mut npz = NpzFile::open(&path).unwrap();
        assert_eq!(npz.keys(), vec!["images", "scores", "flags"]);
        assert!(npz.contains("scores") && !npz.contains("labels"));

        let scores = npz.read("scores").unwrap();
        assert_eq!((scores.dtype, scores.shape.clone()), (Dtype::F32, vec![2]));
        assert_eq!(scores.to_f64_vec(), vec![0.5, -2.0]);

        let images = npz.read("images").unwrap();
        assert_eq!(images.shape, vec![2, 3, 3]);
        assert_eq!(images.data[17], 17);

        let got = read_npz(&path, &["flags", "images"]).unwrap();
        assert_eq!(got[0].dtype, Dtype::Bool);
        assert_eq!(got[0].data, vec![1, 0]);
        assert_eq!(got[1], images);
    }

    #[test]
    fn reads_from_memory_like_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = std::fs::read(sample_npz(dir.path())).unwrap();
        let mut npz = NpzFile::from_reader(std::io::Cursor::new(&bytes[..]), "mem.npz").unwrap();
        assert_eq!(npz.keys(), vec!["images", "scores", "flags"]);
        assert_eq!(npz.read("flags").unwrap().data, vec![1, 0]);
        let err = npz.read("labels").unwrap_err().to_string();
        assert!(err.starts_with("mem.npz: key `labels`"), "{err}");
        let err = NpzFile::from_reader(std::io::Cursor::new(b"not a zip"), "x.npz").unwrap_err();
        assert!(matches!(err, DataError::NotZip { .. }), "{err}");
    }

    #[test]
    fn missing_file_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nothere.npz");
        let err = NpzFile::open(&path).unwrap_err();
        assert!(matches!(err, DataError::Io { .. }), "{err}");
        let text = err.to_string();
        assert!(text.starts_with(&format!("{}: ", path.display())), "{text}");
    }

    #[test]
    fn non_zip_file_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain.npz");
        std::fs::write(&path, npy_bytes(1, "|u1", false, &[1], &[0])).unwrap();
        let err = NpzFile::open(&path).unwrap_err();
        assert!(matches!(err, DataError::NotZip { .. }), "{err}");
        assert!(err.to_string().contains("plain.npz: not an .npz"), "{err}");

        std::fs::write(&path, b"").unwrap();
        assert!(matches!(
            NpzFile::open(&path),
            Err(DataError::NotZip { .. })
        ));
    }

    #[test]
    fn missing_key_lists_what_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = sample_npz(dir.path());
        let err = read_npz(&path, &["images", "train_labels"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: key `train_labels`: not in archive (keys present: images, scores, flags)",
                path.display()
            )
        );
    }

    #[test]
    fn member_errors_name_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pneumoniamnist.npz");
        let mut bad_magic = npy_bytes(1, "|u1", false, &[2], &[0, 0]);
        bad_magic[0] = b'X';
        write_zip(
            &path,
            &[
                ("bad_magic.npy", &bad_magic, Stored),
                (
                    "dtype.npy",
                    &npy_bytes(1, "<u2", false, &[1], &[0, 0]),
                    Deflated,
                ),
                (
                    "train_images.npy",
                    &npy_bytes(1, "|u1", false, &[4708, 28, 28], &[7; 1000]),
                    Deflated,
                ),
            ],
        );
        let mut npz = NpzFile::open(&path).unwrap();
        let err = npz.read("bad_magic").unwrap_err();
        assert!(
            matches!(&err, DataError::Npy { key, source: NpyError::BadMagic { .. }, .. } if key == "bad_magic"),
            "{err}"
        );
        let err = npz.read("dtype").unwrap_err();
        assert!(
            err.to_string()
                .contains("key `dtype`: unsupported dtype '<u2'"),
            "{err}"
        );
        let err = npz.read("train_images").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: key `train_images`: header declares shape (4708, 28, 28) = 3691072 bytes but member holds 1000",
                path.display()
            )
        );
    }

    #[test]
    fn corrupt_deflate_data_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("corrupt.npz");
        let data: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
        write_zip(
            &path,
            &[(
                "x.npy",
                &npy_bytes(1, "|u1", false, &[4096], &data),
                Deflated,
            )],
        );
        // Flip bytes in the middle of the compressed stream; the zip directory
        // (and so the declared sizes) stays intact.
        let mut bytes = std::fs::read(&path).unwrap();
        for b in &mut bytes[200..260] {
            *b ^= 0x5a;
        }
        std::fs::write(&path, &bytes).unwrap();
        let err = NpzFile::open(&path).unwrap().read("x").unwrap_err();
        assert!(
            matches!(
                &err,
                DataError::Npy {
                    source: NpyError::Read(_)
                        | NpyError::Truncated { .. }
                        | NpyError::BadHeader { .. },
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("key `x`"), "{err}");
    }

    #[test]
    fn zip_bomb_fails_before_allocating() {
        // 64 MiB of zeros deflate to about 64 KiB. With a 1 MiB cap the reader
        // must refuse from the header alone.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bomb.npz");
        let zeros = vec![0u8; 64 << 20];
        write_zip(
            &path,
            &[(
                "train_images.npy",
                &npy_bytes(1, "|u1", false, &[1 << 16, 32, 32], &zeros),
                Deflated,
            )],
        );
        assert!(std::fs::metadata(&path).unwrap().len() < 1 << 20);
        let err = NpzFile::open(&path)
            .unwrap()
            .with_max_array_bytes(1 << 20)
            .read("train_images")
            .unwrap_err();
        assert!(
            matches!(&err, DataError::Npy { source: NpyError::TooLarge { declared, limit, .. }, .. }
                if *declared == 64 << 20 && *limit == 1 << 20),
            "{err}"
        );
        assert!(err.to_string().contains("refusing to allocate"), "{err}");
    }

    #[test]
    fn zip_bomb_with_forged_sizes_stops_at_the_declared_size() {
        // The member really inflates to 64 MiB, but its zip headers and its
        // .npy header both claim 1000 data bytes. Reading must stop after the
        // declared bytes (plus a small probe) and report the excess.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("forged.npz");
        let mut member = npy_bytes(1, "|u1", false, &[1000], &[]);
        let claimed = (member.len() + 1000) as u32;
        member.resize(member.len() + (64 << 20), 0);
        write_zip(&path, &[("x.npy", &member, Deflated)]);

        let mut bytes = std::fs::read(&path).unwrap();
        let patch = |bytes: &mut Vec<u8>, signature: &[u8; 4], size_offset: usize| {
            let at = bytes
                .windows(4)
                .position(|w| w == signature)
                .expect("zip header present");
            bytes[at + size_offset..at + size_offset + 4].copy_from_slice(&claimed.to_le_bytes());
        };
        patch(&mut bytes, b"PK\x03\x04", 22); // local file header
        patch(&mut bytes, b"PK\x01\x02", 24); // central directory entry
        std::fs::write(&path, &bytes).unwrap();

        let mut npz = NpzFile::open(&path).unwrap();
        let err = npz.read("x").unwrap_err();
        match &err {
            DataError::Npy {
                source: NpyError::SizeMismatch { declared, held, .. },
                ..
            } => {
                assert_eq!(*declared, 1000);
                assert!(held.starts_with("more than"), "{err}");
            }
            // The zip layer may instead notice the overrun itself.
            DataError::Npy {
                source: NpyError::Read(_),
                ..
            } => {}
            other => panic!("unexpected error: {other}"),
        }
    }

    #[test]
    fn default_limit_fits_the_largest_catalog_array() {
        let dir = tempfile::tempdir().unwrap();
        let npz = NpzFile::open(sample_npz(dir.path())).unwrap();
        let largest = crate::catalog::all()
            .iter()
            .map(|d| d.splits[0] as u64 * 224 * 224 * u64::from(d.channels))
            .max()
            .unwrap();
        assert!(npz.max_array_bytes >= largest, "{largest}");
        assert!(npz.max_array_bytes <= 2 * largest);
    }
}
