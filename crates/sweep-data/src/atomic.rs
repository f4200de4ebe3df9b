//! Writing files so that readers never see half of one: write a uniquely
//! named temporary file in the same folder, fsync, rename over the target.
//! Shared by the fingerprint and MD5 memos and the decoded-image cache.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Replaces `dir/name` with `bytes` atomically (creating `dir` if needed).
pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(dir, name, |file| file.write_all(bytes))
}

/// Replaces `dir/name` with whatever `fill` writes into the file it is given
/// (streamed, for outputs too large to build in memory first).
pub(crate) fn write_atomic_with(
    dir: &Path,
    name: &str,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let temp: PathBuf = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        unique_suffix()
    ));
    let result = (|| {
        let mut file = File::create(&temp)?;
        fill(&mut file)?;
        file.sync_all()?;
        fs::rename(&temp, dir.join(name))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Distinguishes temporary files of threads within one process.
fn unique_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}
