//! The one way `sweep` replaces a file that others read: results, completion
//! markers, checkpoints, resume state, memos and decoded-data caches.
//!
//! A reader must see either the old file or the whole new one, and after a
//! crash or power loss the file under its final name must never be a torn
//! or empty copy. One rule gives both:
//!
//! 1. write a uniquely named temporary file in the target's folder (same
//!    file system, so the rename is atomic; unique per process and thread,
//!    so concurrent writers of one memo never share a temporary file);
//! 2. fsync the temporary file, so its bytes are on disk before its name is;
//! 3. rename it over the target;
//! 4. fsync the folder, so the rename itself survives a power loss.
//!
//! A failed write removes its temporary file and leaves the target as it
//! was. The folder must exist: creating it is the caller's decision (a run
//! folder removed by `--force` must not silently reappear).
//!
//! This crate is the lowest one that every writer depends on (sweep-core,
//! sweep-train and sweep-report all use it), so the rule lives here once.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Replaces `path` with `bytes`, atomically and durably.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |file| file.write_all(bytes))
}

/// Replaces `path` with whatever `fill` writes into the file it is given
/// (streamed, for outputs too large to build in memory first).
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    write_atomic_via_path(path, |temp| {
        let mut file = File::create(temp)?;
        fill(&mut file)
    })
}

/// Replaces `path` with the file `fill` writes at the temporary path it is
/// given, for writers that only take a path (such as libtorch's
/// safetensors). `fill`'s own error type passes through unchanged.
pub fn write_atomic_via_path<E: From<io::Error>>(
    path: &Path,
    fill: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E> {
    let temp = temp_path(path)?;
    let result = fill(&temp)
        .and_then(|()| sync_file(&temp).map_err(E::from))
        .and_then(|()| fs::rename(&temp, path).map_err(E::from));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
        return result;
    }
    sync_parent_folder(path);
    Ok(())
}

/// Makes a rename into `path`'s folder durable by syncing that folder.
///
/// Best effort: the rename has already happened, and some file systems
/// (network mounts among them) refuse to sync a folder; failing the write
/// then would report an error for a file that is in place.
pub fn sync_parent_folder(path: &Path) {
    if let Ok(folder) = File::open(parent_folder(path)) {
        let _ = folder.sync_all();
    }
}

/// The folder that holds `path` (`.` for a bare file name).
fn parent_folder(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// `.NAME.PID.N.tmp` beside `path`: hidden, and unique per process and call.
fn temp_path(path: &Path) -> io::Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: not a file path", path.display()),
        )
    })?;
    let name = name.to_string_lossy();
    let temp = format!(".{name}.{}.{}.tmp", std::process::id(), unique_suffix());
    Ok(parent_folder(path).join(temp))
}

/// Flushes a file written by someone else (through its path) to disk.
/// Opened for writing because some platforms refuse to sync a read-only
/// handle.
fn sync_file(path: &Path) -> io::Result<()> {
    OpenOptions::new().write(true).open(path)?.sync_all()
}

/// Distinguishes temporary files of threads within one process.
fn unique_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn content_is_replaced_whole_and_no_temp_file_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.json");
        write_atomic(&path, b"a much longer first version").unwrap();
        write_atomic(&path, b"short").unwrap();
        // Replaced, not overwritten in place: nothing of the longer first
        // version remains.
        assert_eq!(fs::read(&path).unwrap(), b"short");
        assert_eq!(names_in(dir.path()), ["metrics.json"]);
    }

    #[test]
    fn failed_fill_keeps_the_old_file_and_removes_the_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.npz");
        write_atomic(&path, b"old").unwrap();
        let err = write_atomic_with(&path, |file| {
            file.write_all(b"half of the new")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(names_in(dir.path()), ["cache.npz"]);
    }

    #[test]
    fn failed_rename_removes_the_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty folder under the target's name: the rename fails.
        let path = dir.path().join("taken");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("inside"), b"x").unwrap();
        assert!(write_atomic(&path, b"new").is_err());
        assert_eq!(names_in(dir.path()), ["taken"]);
        assert_eq!(names_in(&path), ["inside"]);
    }

    #[test]
    fn missing_folder_is_an_error_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone/spec.json");
        let err = write_atomic(&path, b"{}").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(!dir.path().join("gone").exists());
    }

    #[derive(Debug)]
    enum WriterError {
        Io(io::Error),
        Refused(&'static str),
    }

    impl From<io::Error> for WriterError {
        fn from(e: io::Error) -> Self {
            WriterError::Io(e)
        }
    }

    #[test]
    fn path_writers_keep_their_error_type() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("best.safetensors");
        write_atomic_via_path(&path, |temp| -> Result<(), WriterError> {
            assert_eq!(temp.parent(), Some(dir.path()));
            assert!(
                temp.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .ends_with(".tmp")
            );
            Ok(fs::write(temp, b"weights")?)
        })
        .unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"weights");

        let refused = write_atomic_via_path(&path, |temp| {
            fs::write(temp, b"partial")?;
            Err(WriterError::Refused("tensor not contiguous"))
        });
        assert!(matches!(
            refused,
            Err(WriterError::Refused("tensor not contiguous"))
        ));
        // A writer that wrote nothing at all is an I/O error (no temp file
        // to sync), and the target is untouched either way.
        let nothing = write_atomic_via_path(&path, |_| Ok::<(), WriterError>(()));
        assert!(matches!(nothing, Err(WriterError::Io(e)) if e.kind() == io::ErrorKind::NotFound));
        assert_eq!(fs::read(&path).unwrap(), b"weights");
        assert_eq!(names_in(dir.path()), ["best.safetensors"]);
    }

    #[test]
    fn concurrent_writers_never_share_a_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("memo.json");
        std::thread::scope(|s| {
            for t in 0..8u8 {
                let path = &path;
                s.spawn(move || {
                    for _ in 0..20 {
                        write_atomic(path, &[t; 4096]).unwrap();
                    }
                });
            }
        });
        let bytes = fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 4096);
        assert!(bytes.iter().all(|&b| b == bytes[0]), "torn write");
        assert_eq!(names_in(dir.path()), ["memo.json"]);
    }
}
