//! Submission records: what was handed to Slurm, kept next to the results so
//! that `sweep status` and `sweep cancel` can find the jobs later, from any
//! machine that sees the results folder.
//!
//! ```text
//! results/.slurm/<experiment>-<UTC time>/runs.txt           absolute run folders, one per line
//!                                        job.sbatch         the array's batch script
//!                                        job.json           job id, sbatch argv, run keys per task
//!                                        task-<job>_<i>.out output of array task i (worker events)
//!                                        report.sbatch      with --dependency-report
//!                                        report.md          written by the report job
//! ```
//!
//! The record is written after `sbatch` accepted the array, so every
//! `job.json` names a real job; a folder without one is a failed submission.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::resources::SlurmOptions;
use crate::hash::RunKey;
use crate::store::write_atomic;

pub const SLURM_DIR: &str = ".slurm";
pub const RUNS_FILE: &str = "runs.txt";
pub const SCRIPT_FILE: &str = "job.sbatch";
pub const RECORD_FILE: &str = "job.json";
pub const REPORT_SCRIPT_FILE: &str = "report.sbatch";
pub const REPORT_FILE: &str = "report.md";

/// `job.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The experiment's `name`.
    pub experiment: String,
    /// The array's job id, as `sbatch --parsable` printed it.
    pub job_id: String,
    /// The cluster, when `sbatch --parsable` named one (`id;cluster`).
    pub cluster: Option<String>,
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub submitted_at: String,
    pub runs_per_task: u32,
    /// The `--array` value.
    pub array: String,
    /// Run keys of array task i, in the order it trains them.
    pub tasks: Vec<Vec<RunKey>>,
    /// The whole `sbatch` command line that submitted the array.
    pub sbatch: Vec<String>,
    /// The `--dependency-report` job, if one was submitted.
    pub report_job_id: Option<String>,
    pub options: SlurmOptions,
}

/// A submission folder and its record.
#[derive(Debug, Clone)]
pub struct Submission {
    pub dir: PathBuf,
    pub record: JobRecord,
}

impl Submission {
    /// The output file of array task `task` (see [`output_pattern`]).
    pub fn output_file(&self, task: u32) -> PathBuf {
        self.dir
            .join(format!("task-{}_{task}.out", self.record.job_id))
    }

    /// The array task that trains `key`, if this submission has it.
    pub fn task_of(&self, key: &RunKey) -> Option<u32> {
        self.record
            .tasks
            .iter()
            .position(|keys| keys.contains(key))
            .map(|i| i as u32)
    }

    pub fn has_any<'a>(&self, mut keys: impl Iterator<Item = &'a RunKey>) -> bool {
        keys.any(|k| self.task_of(k).is_some())
    }

    /// The job ids to query or cancel: the array and its report job.
    pub fn job_ids(&self) -> Vec<String> {
        let mut ids = vec![self.record.job_id.clone()];
        ids.extend(self.record.report_job_id.clone());
        ids
    }
}

/// `sbatch --output` for the array: `<dir>/task-%A_%a.out`, with any `%` of
/// the folder doubled so Slurm does not read it as a pattern.
pub fn output_pattern(dir: &str) -> String {
    format!("{}/task-%A_%a.out", dir.replace('%', "%%"))
}

/// Keeps `[A-Za-z0-9._-]`, replacing everything else by `_` (job names and
/// folder names come from the experiment's name).
pub fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    let s = s.trim_start_matches(['.', '-']).to_string();
    if s.is_empty() { "sweep".into() } else { s }
}

/// Creates `results/.slurm/<experiment>-<YYYYmmdd-HHMMSS>[-n]/`, a new folder
/// even when two submissions happen in the same second.
pub fn create_folder(
    results_root: &Path,
    experiment: &str,
    now: SystemTime,
) -> io::Result<PathBuf> {
    let parent = results_root.join(SLURM_DIR);
    fs::create_dir_all(&parent)?;
    let (date, time) = utc_parts(now);
    let base = format!(
        "{}-{}{:02}{:02}-{:02}{:02}{:02}",
        sanitize(experiment),
        date.0,
        date.1,
        date.2,
        time.0,
        time.1,
        time.2
    );
    for n in 0..1000 {
        let name = if n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let dir = parent.join(name);
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "no free submission folder for {base} in {}",
        parent.display()
    )))
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(now: SystemTime) -> String {
    let ((y, mo, d), (h, mi, s)) = utc_parts(now);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

fn utc_parts(now: SystemTime) -> ((i64, u32, u32), (u32, u32, u32)) {
    let secs = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400) as u32);
    (
        civil_from_days(days),
        (rem / 3600, rem % 3600 / 60, rem % 60),
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Writes `job.json` atomically.
pub fn save(dir: &Path, record: &JobRecord) -> io::Result<()> {
    let json = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
    write_atomic(&dir.join(RECORD_FILE), &json)
}

/// Every submission under `results/.slurm/`, oldest first. Folders without a
/// readable `job.json` (failed submissions) are left out.
pub fn load_all(results_root: &Path) -> Vec<Submission> {
    let Ok(entries) = fs::read_dir(results_root.join(SLURM_DIR)) else {
        return Vec::new();
    };
    let mut subs: Vec<Submission> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let dir = e.path();
            let bytes = fs::read(dir.join(RECORD_FILE)).ok()?;
            let record = serde_json::from_slice(&bytes).ok()?;
            Some(Submission { dir, record })
        })
        .collect();
    subs.sort_by(|a, b| (&a.record.submitted_at, &a.dir).cmp(&(&b.record.submitted_at, &b.dir)));
    subs
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_match_known_instants() {
        let at = |s: u64| rfc3339(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_735_689_599), "2024-12-31T23:59:59Z");
        assert_eq!(at(4_107_542_400), "2100-03-01T00:00:00Z");
    }

    #[test]
    fn folders_are_unique_and_named_safely() {
        let tmp = tempfile::tempdir().unwrap();
        let t = UNIX_EPOCH + Duration::from_secs(1_735_689_599);
        let a = create_folder(tmp.path(), "../x y/$(id)", t).unwrap();
        let b = create_folder(tmp.path(), "../x y/$(id)", t).unwrap();
        assert_eq!(
            a.file_name().unwrap().to_str().unwrap(),
            "_x_y___id_-20241231-235959"
        );
        assert!(b.to_str().unwrap().ends_with("-20241231-235959-1"));
        assert_eq!(a.parent().unwrap(), tmp.path().join(SLURM_DIR));
        assert_eq!(sanitize(""), "sweep");
        assert_eq!(output_pattern("/r/50%"), "/r/50%%/task-%A_%a.out");
    }

    #[test]
    fn records_round_trip_and_sort_oldest_first() {
        let tmp = tempfile::tempdir().unwrap();
        let k = |c: char| RunKey::parse(&c.to_string().repeat(64)).unwrap();
        let mut ids = Vec::new();
        for (i, when) in [(0, "2025-01-02T00:00:00Z"), (1, "2025-01-01T00:00:00Z")] {
            let dir = tmp.path().join(SLURM_DIR).join(format!("e-{i}"));
            fs::create_dir_all(&dir).unwrap();
            let record = JobRecord {
                experiment: "e".into(),
                job_id: format!("{}", 10 + i),
                cluster: None,
                submitted_at: when.into(),
                runs_per_task: 2,
                array: "0-1".into(),
                tasks: vec![vec![k('a'), k('b')], vec![k('c')]],
                sbatch: vec!["sbatch".into()],
                report_job_id: Some("99".into()),
                options: SlurmOptions::default(),
            };
            save(&dir, &record).unwrap();
            ids.push(record.job_id);
        }
        // A failed submission: no job.json.
        fs::create_dir_all(tmp.path().join(SLURM_DIR).join("e-2")).unwrap();
        let subs = load_all(tmp.path());
        assert_eq!(subs.len(), 2);
        assert_eq!(subs[0].record.job_id, "11");
        assert_eq!(subs[0].task_of(&k('c')), Some(1));
        assert_eq!(subs[0].task_of(&k('d')), None);
        assert_eq!(subs[0].job_ids(), ["11", "99"]);
        assert!(subs[0].output_file(1).ends_with("task-11_1.out"));
    }
}
