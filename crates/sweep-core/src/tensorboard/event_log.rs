//! A run's live TensorBoard curves: one event file that grows by one event
//! per epoch, written and flushed as the epoch ends, so `tensorboard
//! --logdir results` draws runs while they train.
//!
//! The file is a live view, not a result: it is not listed in
//! `complete.json` and is appended to rather than replaced (TensorBoard
//! reads a growing file, and stops at a record cut short). What it shows is
//! kept equal to `history.csv`: column `train_<m>` is tag `<m>/train`,
//! `val_<m>` is `<m>/val`, every other column (`lr`, `seconds`) keeps its
//! name, and an empty cell writes no scalar; the step is the epoch.
//!
//! A run that starts again (resumed after an interruption, retried after a
//! crash, or retrained) must not show an epoch twice: TensorBoard reads
//! every file of a run folder and would draw both. So the first epoch a
//! process writes, say epoch `e`, rewrites the run's events: the events of
//! epochs before `e` found in the event files under `tb/` (the latest of
//! each epoch) are copied, with their original times, into one new file,
//! and every older file is removed. A resumed run keeps its curve up to
//! where it stopped, and an epoch trained again replaces the one before.
//!
//! The format is written by hand rather than through a crate: the crates
//! that write it are unmaintained or pull a protobuf compiler and image
//! codecs into the build, while scalars need three small protobuf messages
//! ([`super::event`]) inside TFRecord framing ([`super::record`]), about a
//! hundred lines checked against TensorBoard's own reader by the tests.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sweep_data::atomic::write_atomic;

use super::run_name::{TB_DIR, event_dir};
use super::{event, record};

/// The event file of one run, opened when the first epoch is written.
#[derive(Debug)]
pub struct EventLog {
    tb_root: PathBuf,
    dir: PathBuf,
    file: Option<File>,
}

/// The TensorBoard tag of a `history.csv` column.
pub fn tag_of(column: &str) -> String {
    for split in ["train", "val"] {
        if let Some(metric) = column
            .strip_prefix(split)
            .and_then(|rest| rest.strip_prefix('_'))
        {
            return format!("{metric}/{split}");
        }
    }
    column.to_string()
}

impl EventLog {
    /// The event log of the run in `run_dir`, shown in TensorBoard under
    /// `label` (see [`super::run_name`]). Touches no file yet.
    pub fn new(run_dir: &Path, label: Option<&str>) -> EventLog {
        EventLog {
            tb_root: run_dir.join(TB_DIR),
            dir: event_dir(run_dir, label),
            file: None,
        }
    }

    /// The folder the event file is in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends one epoch's scalars (`history.csv` columns and values, `None`
    /// for an empty cell) and flushes them.
    pub fn write_epoch(&mut self, epoch: u32, columns: &[(String, Option<f64>)]) -> io::Result<()> {
        let values: Vec<(String, f32)> = columns
            .iter()
            .filter_map(|(column, value)| Some((tag_of(column), (*value)? as f32)))
            .collect();
        let frame = record::frame(&event::scalars(wall_time(), i64::from(epoch), &values));
        let file = match &mut self.file {
            Some(file) => file,
            None => self.file.insert(self.start(epoch)?),
        };
        file.write_all(&frame)?;
        file.flush()
    }

    /// Replaces every event file of the run with one that holds the events
    /// of the epochs before `first_epoch`, and opens it for appending.
    fn start(&self, first_epoch: u32) -> io::Result<File> {
        let mut old = Vec::new();
        event_files(&self.tb_root, &mut old);
        old.sort();
        let old_bytes: Vec<Vec<u8>> = old.iter().map(fs::read).collect::<io::Result<_>>()?;
        // By epoch, so each appears once and in order; a later file's copy wins.
        let mut kept: BTreeMap<i64, &[u8]> = BTreeMap::new();
        for bytes in &old_bytes {
            for r in record::records(bytes) {
                if let Some(step) = event::summary_step(r.data)
                    && step < i64::from(first_epoch)
                {
                    kept.insert(step, r.frame);
                }
            }
        }
        let now = wall_time();
        let mut content = record::frame(&event::file_version(now));
        for frame in kept.values() {
            content.extend_from_slice(frame);
        }
        fs::create_dir_all(&self.dir)?;
        let path = self
            .dir
            .join(format!("events.out.tfevents.{}.{}", now as u64, hostname()));
        write_atomic(&path, &content)?;
        for stale in old.iter().filter(|p| **p != path) {
            fs::remove_file(stale)?;
            // A folder of another label (the run relabelled) goes when empty.
            if let Some(parent) = stale.parent()
                && parent != self.dir
                && parent != self.tb_root
            {
                let _ = fs::remove_dir(parent);
            }
        }
        OpenOptions::new().append(true).open(&path)
    }
}

/// Every event file under `dir` (TensorBoard's rule: `tfevents` in the
/// name), skipping the atomic writer's hidden temporary files.
fn event_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        match entry.file_type() {
            Ok(t) if t.is_dir() => event_files(&path, out),
            Ok(t) if t.is_file() && name.contains("tfevents") && !name.starts_with('.') => {
                out.push(path)
            }
            _ => {}
        }
    }
}

fn wall_time() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// This machine's name, as TensorBoard's own writers put it in file names.
fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its whole length, and gethostname
    // writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]);
    let name = super::run_name::folder_name(&name).replace(' ', "_");
    if rc != 0 || name.is_empty() {
        "localhost".into()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(loss: f64) -> Vec<(String, Option<f64>)> {
        vec![
            ("lr".into(), Some(1e-3)),
            ("train_loss".into(), Some(loss)),
            ("val_auc".into(), None),
            ("seconds".into(), Some(1.25)),
        ]
    }

    /// (step, tags) of every scalar event in the run's event files, in order.
    fn steps(tb: &Path) -> Vec<i64> {
        let mut files = Vec::new();
        event_files(tb, &mut files);
        assert_eq!(files.len(), 1, "one event file: {files:?}");
        let bytes = fs::read(&files[0]).unwrap();
        let records = record::records(&bytes);
        assert_eq!(event::summary_step(records[0].data), None, "version first");
        records
            .iter()
            .filter_map(|r| event::summary_step(r.data))
            .collect()
    }

    #[test]
    fn columns_map_to_tags_by_split() {
        assert_eq!(tag_of("train_loss"), "loss/train");
        assert_eq!(tag_of("val_flat_auc"), "flat_auc/val");
        assert_eq!(tag_of("lr"), "lr");
        assert_eq!(tag_of("seconds"), "seconds");
        assert_eq!(tag_of("trainer"), "trainer");
    }

    #[test]
    fn a_restarted_run_keeps_earlier_epochs_once_and_replaces_later_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let run = tmp.path();
        let mut first = EventLog::new(run, Some("a fold 1/2"));
        for epoch in 1..=3 {
            first
                .write_epoch(epoch, &columns(f64::from(epoch)))
                .unwrap();
        }
        assert_eq!(steps(&run.join("tb")), [1, 2, 3]);
        // Resumed from the state after epoch 2: epoch 3 is trained again.
        let mut resumed = EventLog::new(run, Some("a fold 1/2"));
        resumed.write_epoch(3, &columns(30.0)).unwrap();
        resumed.write_epoch(4, &columns(40.0)).unwrap();
        assert_eq!(steps(&run.join("tb")), [1, 2, 3, 4]);
        // Retrained from scratch under another label: one file, one folder.
        let mut again = EventLog::new(run, Some("b"));
        again.write_epoch(1, &columns(5.0)).unwrap();
        assert_eq!(steps(&run.join("tb")), [1]);
        let folders: Vec<_> = fs::read_dir(run.join("tb"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(folders, ["b"]);
    }

    #[test]
    fn a_torn_last_record_is_dropped_on_restart() {
        let tmp = tempfile::tempdir().unwrap();
        let mut log = EventLog::new(tmp.path(), None);
        log.write_epoch(1, &columns(1.0)).unwrap();
        log.write_epoch(2, &columns(2.0)).unwrap();
        let mut files = Vec::new();
        event_files(&tmp.path().join("tb"), &mut files);
        let bytes = fs::read(&files[0]).unwrap();
        fs::write(&files[0], &bytes[..bytes.len() - 5]).unwrap();
        let mut resumed = EventLog::new(tmp.path(), None);
        // The worker was killed while writing epoch 2: it resumes there.
        resumed.write_epoch(2, &columns(2.0)).unwrap();
        assert_eq!(steps(&tmp.path().join("tb")), [1, 2]);
    }
}
