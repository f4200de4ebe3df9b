//! Per-run leases: at most one process trains a given run at a time, across
//! every `sweep run` sharing a results folder.
//!
//! A lease is an exclusive advisory lock (`flock`) on `results/<key>/.lock`,
//! held by the *worker* for as long as it trains. The kernel drops it when
//! the holder exits or dies, so a lease left by a killed process is simply
//! free again: no stale-lock cleanup is needed, and no timing guess can take
//! a lease from a run that is still alive. The holder writes its pid into the
//! file so `sweep status` can say who is running what.
//!
//! The orchestrator only *probes* the lease before launching; if another
//! process holds it, the run is waited for (and, once it completes, counted
//! as cached) instead of being trained twice.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Name of the lock file inside a run folder.
pub const LOCK_FILE: &str = ".lock";

/// A held lease; released on drop (or when the process ends).
#[derive(Debug)]
pub struct Lease {
    file: File,
    path: PathBuf,
}

/// Whether a run's lease could be taken.
#[derive(Debug)]
pub enum Acquire {
    Held(Lease),
    /// Another live process holds it; its pid if it wrote one.
    Busy(Option<u32>),
}

impl Lease {
    /// Tries to take the lease of `run_dir` (created if missing) without blocking.
    pub fn try_acquire(run_dir: &Path) -> io::Result<Acquire> {
        std::fs::create_dir_all(run_dir)?;
        let path = run_dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        match file.try_lock() {
            Ok(()) => {
                file.set_len(0)?;
                file.seek(SeekFrom::Start(0))?;
                write!(file, "{}", std::process::id())?;
                file.flush()?;
                Ok(Acquire::Held(Lease { file, path }))
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                Ok(Acquire::Busy(text.trim().parse().ok()))
            }
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// Who holds the lease of `run_dir`, if anyone (for `sweep status`).
pub fn holder(run_dir: &Path) -> Option<u32> {
    if !run_dir.join(LOCK_FILE).exists() {
        return None;
    }
    match Lease::try_acquire(run_dir) {
        Ok(Acquire::Busy(pid)) => Some(pid.unwrap_or(0)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_is_busy_until_release() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let first = match Lease::try_acquire(&dir).unwrap() {
            Acquire::Held(l) => l,
            Acquire::Busy(_) => panic!("fresh lease must be free"),
        };
        // flock locks belong to the open file description: a second open in
        // the same process conflicts just as another process would.
        match Lease::try_acquire(&dir).unwrap() {
            Acquire::Busy(pid) => assert_eq!(pid, Some(std::process::id())),
            Acquire::Held(_) => panic!("lease taken twice"),
        }
        assert_eq!(holder(&dir), Some(std::process::id()));
        drop(first);
        assert!(matches!(
            Lease::try_acquire(&dir).unwrap(),
            Acquire::Held(_)
        ));
        assert_eq!(holder(&dir), None);
    }

    #[test]
    fn a_lease_of_a_killed_process_is_free() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        std::fs::create_dir_all(&dir).unwrap();
        // One process (the shell, replaced by sleep) takes the lock on fd 9 and is killed.
        let script = format!(
            "exec 9>>'{}'; flock 9; exec sleep 30",
            dir.join(LOCK_FILE).display()
        );
        let mut child = std::process::Command::new("sh")
            .args(["-c", &script])
            .spawn()
            .expect("sh and flock(1)");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while holder(&dir).is_none() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(holder(&dir).is_some(), "child should hold the lease");
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            matches!(Lease::try_acquire(&dir).unwrap(), Acquire::Held(_)),
            "a dead holder's lease is free"
        );
    }
}
