//! The Slurm client commands (`sbatch`, `squeue`, `scontrol`, `sacct`,
//! `scancel`), run with argument vectors, never through a shell, and their
//! output parsed into one row per array task.
//!
//! Job states come from `squeue` (one line per task with `-r`), else from
//! `scontrol show job`; jobs the controller has already forgotten (after
//! `MinJobAge`) are looked up with `sacct` when the cluster keeps
//! accounting. The parsers are pure functions so they are tested on the
//! exact text Slurm 22.05 prints.

use std::collections::HashSet;
use std::process::Command;

use super::error::SlurmError;

/// One array task (or a plain job) and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRow {
    /// The array's job id (`1234` for task `1234_5`).
    pub job: String,
    /// The array task id; `None` for a job that is not an array.
    pub task: Option<u32>,
    /// `PENDING`, `RUNNING`, `COMPLETED`, `FAILED`…
    pub state: String,
    /// Why it is pending or how it ended (`Priority`, `NonZeroExitCode`); may be empty.
    pub reason: String,
    /// Where it runs or ran; may be empty.
    pub node: String,
}

impl TaskRow {
    pub fn is_active(&self) -> bool {
        is_active(&self.state)
    }

    /// `1234_5` (or `1234`).
    pub fn id(&self) -> String {
        match self.task {
            Some(t) => format!("{}_{t}", self.job),
            None => self.job.clone(),
        }
    }
}

/// Whether a job in `state` may still run (or is running).
pub fn is_active(state: &str) -> bool {
    !matches!(
        state,
        "COMPLETED"
            | "FAILED"
            | "CANCELLED"
            | "TIMEOUT"
            | "NODE_FAIL"
            | "PREEMPTED"
            | "OUT_OF_MEMORY"
            | "BOOT_FAIL"
            | "DEADLINE"
            | "REVOKED"
    )
}

/// Whether `program` is an executable file in a `$PATH` folder.
pub fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            std::fs::metadata(dir.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// Runs a Slurm command; `Err` names the command and what went wrong.
fn output(program: &'static str, args: &[String]) -> Result<String, SlurmError> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => SlurmError::NotInstalled {
                program,
                hint: "run this on a machine with the Slurm client commands",
            },
            _ => SlurmError::Spawn { program, source },
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let msg = stderr.trim();
        Err(SlurmError::Command {
            program,
            status: out.status,
            message: if msg.is_empty() { stdout.trim() } else { msg }.to_string(),
        })
    }
}

/// `sbatch ARGS…` (which must include `--parsable`): the job id and the
/// cluster, if one was named.
pub fn sbatch(args: &[String]) -> Result<(String, Option<String>), SlurmError> {
    let text = output("sbatch", args)?;
    parse_parsable(&text).ok_or(SlurmError::NoJobId { output: text })
}

/// `1234` or `1234;cluster` (the last non-empty line).
pub fn parse_parsable(text: &str) -> Option<(String, Option<String>)> {
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?.trim();
    let (id, cluster) = match line.split_once(';') {
        Some((id, c)) => (id, Some(c.to_string())),
        None => (line, None),
    };
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit())).then(|| (id.to_string(), cluster))
}

/// `scancel ID…`.
pub fn scancel(jobs: &[String]) -> Result<(), SlurmError> {
    output("scancel", jobs).map(|_| ())
}

/// Expands an array task list: `3`, `2-4`, `[2-4%2]`, `1,3,5-6`.
fn expand_tasks(spec: &str) -> Vec<u32> {
    let spec = spec.trim_start_matches('[').trim_end_matches(']');
    let spec = spec.split('%').next().unwrap_or("");
    let mut out = Vec::new();
    for part in spec.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) {
                    out.extend(a..=b.min(a.saturating_add(100_000)));
                }
            }
            None => out.extend(part.parse::<u32>().ok()),
        }
    }
    out
}

/// Splits `1234_5`, `1234_[2-4%2]` or `1234` into job and tasks.
fn split_id(id: &str) -> (String, Option<Vec<u32>>) {
    match id.split_once('_') {
        Some((job, tasks)) => (job.to_string(), Some(expand_tasks(tasks))),
        None => (id.to_string(), None),
    }
}

fn rows_for(id: &str, state: &str, reason: &str, node: &str) -> Vec<TaskRow> {
    let (job, tasks) = split_id(id.trim());
    let state = state.split_whitespace().next().unwrap_or("").to_string();
    let make = |task| TaskRow {
        job: job.clone(),
        task,
        state: state.clone(),
        reason: reason.trim().to_string(),
        node: node.trim().to_string(),
    };
    match tasks {
        Some(ts) => ts.into_iter().map(|t| make(Some(t))).collect(),
        None => vec![make(None)],
    }
}

/// `squeue -h -r -t all -o %i|%T|%r|%N`.
pub fn parse_squeue(text: &str) -> Vec<TaskRow> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split('|').collect();
            (f.len() >= 2 && !f[0].trim().is_empty()).then(|| {
                rows_for(
                    f[0],
                    f[1],
                    f.get(2).copied().unwrap_or(""),
                    f.get(3).copied().unwrap_or(""),
                )
            })
        })
        .flatten()
        .collect()
}

/// `scontrol show job -o ID`: one record per line, `Key=Value` fields.
pub fn parse_scontrol(text: &str) -> Vec<TaskRow> {
    let mut rows = Vec::new();
    for line in text.lines() {
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        };
        let Some(state) = field("JobState") else {
            continue;
        };
        let reason = field("Reason").unwrap_or("");
        let node = field("NodeList").filter(|n| *n != "(null)").unwrap_or("");
        let id = match (field("ArrayJobId"), field("ArrayTaskId")) {
            (Some(job), Some(tasks)) => format!("{job}_{tasks}"),
            _ => field("JobId").unwrap_or("").to_string(),
        };
        if !id.is_empty() {
            rows.extend(rows_for(&id, state, reason, node));
        }
    }
    rows
}

/// `sacct -n -P -X -o JobID,State,NodeList`; `CANCELLED by 0` counts as `CANCELLED`.
pub fn parse_sacct(text: &str) -> Vec<TaskRow> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split('|').collect();
            (f.len() >= 2 && !f[0].trim().is_empty())
                .then(|| rows_for(f[0], f[1], "", f.get(2).copied().unwrap_or("")))
        })
        .flatten()
        .collect()
}

/// The state of every task of `jobs` the cluster still knows. A job that
/// has no row is no longer known to the controller (finished long ago) and,
/// when `with_sacct`, not in the accounting either.
///
/// `Err` when the state cannot be learnt at all (commands missing, the
/// controller unreachable): the caller must not conclude that jobs ended.
pub fn query(jobs: &[String], with_sacct: bool) -> Result<Vec<TaskRow>, SlurmError> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = Vec::new();
    for chunk in jobs.chunks(100) {
        rows.extend(query_controller(chunk)?);
    }
    if with_sacct {
        let seen: HashSet<&str> = rows.iter().map(|r| r.job.as_str()).collect();
        let gone: Vec<String> = jobs
            .iter()
            .filter(|j| !seen.contains(j.as_str()))
            .cloned()
            .collect();
        if !gone.is_empty() {
            // Without accounting sacct fails ("accounting storage is disabled"): nothing to add.
            let args = [
                "-n".into(),
                "-P".into(),
                "-X".into(),
                "-o".into(),
                "JobID,State,NodeList".into(),
                "-j".into(),
                gone.join(","),
            ];
            if let Ok(text) = output("sacct", &args) {
                rows.extend(parse_sacct(&text));
            }
        }
    }
    Ok(rows)
}

fn query_controller(jobs: &[String]) -> Result<Vec<TaskRow>, SlurmError> {
    let args = [
        "-h".into(),
        "-r".into(),
        "-t".into(),
        "all".into(),
        "-o".into(),
        "%i|%T|%r|%N".into(),
        "-j".into(),
        jobs.join(","),
    ];
    let squeue_err = match output("squeue", &args) {
        Ok(text) => return Ok(parse_squeue(&text)),
        Err(e) if e.is_unknown_job() => return Ok(Vec::new()),
        Err(e) => e,
    };
    // squeue failed for another reason: ask scontrol, job by job.
    let mut rows = Vec::new();
    for job in jobs {
        match output(
            "scontrol",
            &["show".into(), "job".into(), "-o".into(), job.clone()],
        ) {
            Ok(text) => rows.extend(parse_scontrol(&text)),
            Err(e) if e.is_unknown_job() => {}
            // The squeue error says more about an unreachable controller.
            Err(_) => return Err(squeue_err),
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsable_output() {
        assert_eq!(parse_parsable("1234\n"), Some(("1234".into(), None)));
        assert_eq!(
            parse_parsable("note\n77;gpu-cluster\n"),
            Some(("77".into(), Some("gpu-cluster".into())))
        );
        assert_eq!(parse_parsable("Submitted batch job 12\n"), None);
        assert_eq!(parse_parsable(""), None);
    }

    #[test]
    fn squeue_rows_one_per_task() {
        // As printed by Slurm 22.05 for `--array=0-4%2` a second after submission.
        let text = "1_2|PENDING|JobArrayTaskLimit|\n1_[3-4%2]|PENDING|JobArrayTaskLimit|\n\
                    1_1|RUNNING|None|localhost\n1_0|COMPLETED|None|localhost\n7|PENDING|Dependency|\n";
        let rows = parse_squeue(text);
        let ids: Vec<String> = rows.iter().map(TaskRow::id).collect();
        assert_eq!(ids, ["1_2", "1_3", "1_4", "1_1", "1_0", "7"]);
        assert_eq!(rows[3].node, "localhost");
        assert_eq!(rows[5].reason, "Dependency");
        assert!(rows[0].is_active() && rows[3].is_active() && !rows[4].is_active());
    }

    #[test]
    fn scontrol_records_with_pending_ranges() {
        let text = "JobId=1 ArrayJobId=1 ArrayTaskId=2-4%2 ArrayTaskThrottle=2 JobName=wrap JobState=PENDING Reason=JobArrayTaskLimit Dependency=(null) NodeList= NumNodes=1\n\
                    JobId=3 ArrayJobId=1 ArrayTaskId=1 JobName=wrap JobState=FAILED Reason=NonZeroExitCode NodeList=localhost ExitCode=1:0\n\
                    JobId=9 JobName=report JobState=COMPLETED Reason=None NodeList=localhost\n";
        let rows = parse_scontrol(text);
        let got: Vec<(String, &str)> = rows.iter().map(|r| (r.id(), r.state.as_str())).collect();
        assert_eq!(
            got,
            [
                ("1_2".into(), "PENDING"),
                ("1_3".into(), "PENDING"),
                ("1_4".into(), "PENDING"),
                ("1_1".into(), "FAILED"),
                ("9".into(), "COMPLETED"),
            ]
        );
        assert_eq!(rows[3].node, "localhost");
        assert_eq!(rows[0].node, "");
    }

    #[test]
    fn sacct_states_drop_the_by_uid_suffix() {
        let rows =
            parse_sacct("5_0|COMPLETED|n1\n5_1|CANCELLED by 0|n2\n5_[2-3]|PENDING|None assigned\n");
        let got: Vec<(String, &str)> = rows.iter().map(|r| (r.id(), r.state.as_str())).collect();
        assert_eq!(
            got,
            [
                ("5_0".into(), "COMPLETED"),
                ("5_1".into(), "CANCELLED"),
                ("5_2".into(), "PENDING"),
                ("5_3".into(), "PENDING"),
            ]
        );
        assert!(!rows[1].is_active());
    }

    #[test]
    fn task_lists() {
        assert_eq!(expand_tasks("[1,3,5-6%2]"), [1, 3, 5, 6]);
        assert_eq!(expand_tasks("x"), Vec::<u32>::new());
    }
}
