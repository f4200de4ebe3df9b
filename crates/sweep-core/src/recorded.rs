//! The experiments `sweep run` has run into a results folder, so that
//! reports and explanations need neither the experiment file nor the data.
//!
//! Before it trains anything, `sweep run` writes one record per plan:
//!
//! ```text
//! results/.experiments/<name>/<id>.json
//! {
//!   "format": 1,
//!   "name": "chest_ablation",
//!   "source": "/home/me/study/experiments/chest_ablation.yaml",
//!   "recorded_at": "2026-12-04T17:33:00.125Z",
//!   "smoke": false,
//!   "synthetic": false,
//!   "overrides": ["train.epochs=50"],
//!   "text": "<the experiment file as it was read>",
//!   "runs": [{"key": "<64 hex>", "input": {<the run's hashed inputs, as in spec.json>}}, …]
//! }
//! ```
//!
//! `text` is the file's text as read; applying `overrides` (the `--set`
//! arguments, in order) to it gives the experiment that was planned, so the
//! record keeps the file's comments and layout. `runs` lists every planned
//! run that had a key, in plan order (runs whose data was missing are not
//! listed: they were never keyed). `<id>` is a digest of everything but
//! `recorded_at`, so running the same plan again rewrites its record with
//! the new time instead of adding one. Records are written through the
//! atomic writer like everything else under `results/`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::expand::Variant;
use crate::hash::{KeyInput, RunKey};
use crate::plan::Plan;
use crate::store::write_atomic;

/// Folder of the records, under the results folder.
pub const EXPERIMENTS_DIR: &str = ".experiments";

/// The version of the record layout above.
pub const RECORD_FORMAT: u32 = 1;

/// One planned run: its key and what was hashed into it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRun {
    pub key: RunKey,
    pub input: KeyInput,
}

/// What `sweep run` planned for one experiment file (see the module doc).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentRecord {
    pub format: u32,
    pub name: String,
    /// The experiment file, as an absolute path when it could be made one.
    pub source: PathBuf,
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, when the plan was last run.
    pub recorded_at: String,
    pub smoke: bool,
    pub synthetic: bool,
    /// The `--set PATH=VALUE` arguments, in the order given.
    #[serde(default)]
    pub overrides: Vec<String>,
    /// The experiment file's text as it was read.
    pub text: String,
    pub runs: Vec<RecordedRun>,
}

impl ExperimentRecord {
    /// The record of a plan of the experiment read from `source` as `text`.
    pub fn new(
        source: &Path,
        text: String,
        overrides: &[String],
        variant: Variant,
        plan: &Plan,
    ) -> ExperimentRecord {
        ExperimentRecord {
            format: RECORD_FORMAT,
            name: plan.experiment.clone(),
            source: std::path::absolute(source).unwrap_or_else(|_| source.to_path_buf()),
            recorded_at: timestamp(SystemTime::now()),
            smoke: variant.smoke,
            synthetic: variant.synthetic,
            overrides: overrides.to_vec(),
            text,
            runs: plan
                .runs
                .iter()
                .filter_map(|r| {
                    Some(RecordedRun {
                        key: r.key.clone()?,
                        input: r.input.clone()?,
                    })
                })
                .collect(),
        }
    }

    /// The variant of the experiment that was planned.
    pub fn variant(&self) -> Variant {
        Variant {
            smoke: self.smoke,
            synthetic: self.synthetic,
        }
    }

    /// `chest_ablation`, `chest_ablation (smoke)`, `… (smoke, synthetic)`.
    pub fn title(&self) -> String {
        let flags: Vec<&str> = [(self.smoke, "smoke"), (self.synthetic, "synthetic")]
            .iter()
            .filter_map(|(on, name)| on.then_some(*name))
            .collect();
        if flags.is_empty() {
            self.name.clone()
        } else {
            format!("{} ({})", self.name, flags.join(", "))
        }
    }

    /// The experiment text with the overrides appended as comments, for
    /// showing what was run (the HTML report's "experiment" section).
    pub fn annotated_text(&self) -> String {
        let mut text = self.text.clone();
        if !self.overrides.is_empty() {
            if !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str("# overridden on the command line:\n");
            for o in &self.overrides {
                text.push_str(&format!("#   --set {o}\n"));
            }
        }
        text
    }

    /// The digest that names the record's file: everything but the time.
    fn id(&self) -> String {
        let mut plain = self.clone();
        plain.recorded_at.clear();
        let json = serde_json::to_vec(&plain).unwrap_or_default();
        hex::encode(Sha256::digest(&json))[..16].to_string()
    }

    /// Writes (or rewrites) the record under `results`; returns its path.
    pub fn write(&self, results: &Path) -> io::Result<PathBuf> {
        let dir = results.join(EXPERIMENTS_DIR).join(&self.name);
        fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{}.json", self.id()));
        let json = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        write_atomic(&path, &json)?;
        Ok(path)
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`: to the millisecond, so two sweeps started in
/// the same second still sort by which came last.
fn timestamp(now: SystemTime) -> String {
    let seconds = crate::slurm::record::rfc3339(now);
    let millis = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_millis());
    format!("{}.{millis:03}Z", seconds.trim_end_matches('Z'))
}

/// Every record found under a results folder, newest first, and the files
/// that could not be read as records (with why).
#[derive(Debug, Default)]
pub struct Records {
    pub records: Vec<ExperimentRecord>,
    pub unreadable: Vec<String>,
}

impl Records {
    /// Reads `results/.experiments/*/*.json`. A missing folder is no records.
    pub fn read(results: &Path) -> Records {
        let mut out = Records::default();
        let Ok(names) = fs::read_dir(results.join(EXPERIMENTS_DIR)) else {
            return out;
        };
        let mut files: Vec<PathBuf> = names
            .filter_map(Result::ok)
            .filter_map(|e| fs::read_dir(e.path()).ok())
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for path in files {
            match fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            {
                Ok(record) => out.records.push(record),
                Err(why) => out.unreadable.push(format!("{}: {why}", path.display())),
            }
        }
        out.records
            .sort_by(|a, b| b.recorded_at.cmp(&a.recorded_at).then(a.name.cmp(&b.name)));
        out
    }

    /// The newest record of each experiment and variant (smoke, synthetic),
    /// newest first: what `sweep report` shows without a file.
    pub fn latest(&self) -> Vec<&ExperimentRecord> {
        let mut seen = std::collections::HashSet::new();
        self.records
            .iter()
            .filter(|r| seen.insert((r.name.clone(), r.smoke, r.synthetic)))
            .collect()
    }

    /// Older records of `shown`'s experiment name and variant that came from
    /// other files (newest first, one per file): two files that declare the
    /// same `name:`, which a report without a file does not show. Records
    /// of the same file with other `--set` overrides are earlier plans of
    /// the same experiment and are not listed.
    pub fn same_name_from_other_files(&self, shown: &ExperimentRecord) -> Vec<&ExperimentRecord> {
        let mut files = std::collections::HashSet::from([shown.source.clone()]);
        self.records
            .iter()
            .filter(|r| {
                r.name == shown.name && r.smoke == shown.smoke && r.synthetic == shown.synthetic
            })
            .filter(|r| files.insert(r.source.clone()))
            .collect()
    }

    /// Every recorded run's inputs, newest record first.
    pub fn runs(&self) -> impl Iterator<Item = &RecordedRun> {
        self.records.iter().flat_map(|r| &r.runs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, at: &str, smoke: bool) -> ExperimentRecord {
        ExperimentRecord {
            format: RECORD_FORMAT,
            name: name.into(),
            source: PathBuf::from(format!("/x/{name}.yaml")),
            recorded_at: at.into(),
            smoke,
            synthetic: false,
            overrides: vec!["train.epochs=2".into()],
            text: format!("name: {name}\n"),
            runs: Vec::new(),
        }
    }

    #[test]
    fn the_same_plan_rewrites_its_record_and_reading_puts_the_newest_first() {
        let tmp = tempfile::tempdir().unwrap();
        let a = record("a", "2026-01-01T00:00:00Z", false);
        let first = a.write(tmp.path()).unwrap();
        let again = record("a", "2026-01-03T00:00:00Z", false);
        assert_eq!(
            again.write(tmp.path()).unwrap(),
            first,
            "same plan, same file"
        );
        record("a", "2026-01-02T00:00:00Z", true)
            .write(tmp.path())
            .unwrap();
        record("b", "2026-01-04T00:00:00Z", false)
            .write(tmp.path())
            .unwrap();
        let mut older_b = record("b", "2025-12-31T00:00:00Z", false);
        older_b.text.push_str("# edited\n");
        older_b.write(tmp.path()).unwrap();
        fs::write(tmp.path().join(EXPERIMENTS_DIR).join("b/broken.json"), b"{").unwrap();

        let read = Records::read(tmp.path());
        assert_eq!(read.records.len(), 4);
        assert_eq!(read.unreadable.len(), 1);
        assert!(
            read.unreadable[0].contains("broken.json"),
            "{:?}",
            read.unreadable
        );
        let latest: Vec<String> = read.latest().iter().map(|r| r.title()).collect();
        assert_eq!(latest, ["b", "a", "a (smoke)"]);
        assert_eq!(read.latest()[1].recorded_at, "2026-01-03T00:00:00Z");
        assert_eq!(read.latest()[0].text, "name: b\n");
        assert!(
            read.latest()[1]
                .annotated_text()
                .ends_with("#   --set train.epochs=2\n")
        );
    }

    #[test]
    fn a_report_without_a_file_names_other_files_that_share_the_name() {
        let tmp = tempfile::tempdir().unwrap();
        let mut copy = record("chest", "2026-01-01T00:00:00Z", false);
        copy.source = PathBuf::from("/x/chest_copy.yaml");
        copy.write(tmp.path()).unwrap();
        let mut earlier_plan = record("chest", "2026-01-02T00:00:00Z", false);
        earlier_plan.overrides = vec!["train.epochs=5".into()];
        earlier_plan.write(tmp.path()).unwrap();
        record("chest", "2026-01-03T00:00:00Z", false)
            .write(tmp.path())
            .unwrap();
        record("chest", "2026-01-04T00:00:00Z", true)
            .write(tmp.path())
            .unwrap();

        let read = Records::read(tmp.path());
        let latest = read.latest();
        let full = latest.iter().find(|r| !r.smoke).unwrap();
        assert_eq!(full.source, PathBuf::from("/x/chest.yaml"));
        let hidden: Vec<_> = read
            .same_name_from_other_files(full)
            .iter()
            .map(|r| r.source.clone())
            .collect();
        assert_eq!(hidden, [PathBuf::from("/x/chest_copy.yaml")]);
        let smoke = latest.iter().find(|r| r.smoke).unwrap();
        assert!(read.same_name_from_other_files(smoke).is_empty());
    }

    #[test]
    fn timestamps_sort_to_the_millisecond() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_735_689_599_007);
        assert_eq!(timestamp(t), "2024-12-31T23:59:59.007Z");
    }

    #[test]
    fn a_results_folder_without_records_has_none() {
        let tmp = tempfile::tempdir().unwrap();
        let read = Records::read(&tmp.path().join("absent"));
        assert!(read.records.is_empty() && read.unreadable.is_empty());
    }
}
