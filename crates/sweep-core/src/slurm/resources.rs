//! What a Slurm submission asks the cluster for, checked before anything is
//! written or submitted.
//!
//! Every value here ends up either in an `#SBATCH` line of the generated
//! batch script or in `sbatch`'s argument vector, so each is validated
//! against the syntax Slurm accepts: a value with a newline could otherwise
//! add lines to the script, and a bare word among the extra arguments would
//! be taken by `sbatch` as the script to run.

use serde::{Deserialize, Serialize};

use super::error::SlurmError;

/// The resources and placement of every array task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlurmOptions {
    /// `--partition` (a name or a comma-separated list).
    pub partition: Option<String>,
    /// `--account`.
    pub account: Option<String>,
    /// `--time`, per array task (that is, for `runs_per_task` runs in sequence).
    pub time: Option<String>,
    /// `--gres=gpu:N` when N > 0; the worker trains on the first GPU Slurm gives it.
    pub gpus_per_run: u32,
    /// `--cpus-per-task`, also the worker's thread count.
    pub cpus_per_run: Option<u32>,
    /// `--mem` (per task: megabytes, or with a K/M/G/T suffix).
    pub mem: Option<String>,
    /// The `%K` of `--array=0-(N-1)%K`: at most K tasks at once.
    pub array_parallelism: Option<u32>,
    /// Runs each array task trains, one after the other.
    pub runs_per_task: u32,
    /// Passed to `sbatch` verbatim (each one `--option=value`), after the
    /// script's `#SBATCH` lines, so they override them.
    pub sbatch_args: Vec<String>,
}

impl Default for SlurmOptions {
    fn default() -> Self {
        SlurmOptions {
            partition: None,
            account: None,
            time: None,
            gpus_per_run: 0,
            cpus_per_run: None,
            mem: None,
            array_parallelism: None,
            runs_per_task: 1,
            sbatch_args: Vec::new(),
        }
    }
}

/// `sbatch` options the submission sets itself; an extra argument may not
/// replace them.
const MANAGED: [&str; 4] = ["--array", "--parsable", "--wrap", "--dependency"];

impl SlurmOptions {
    /// Every problem with the options, one message each.
    pub fn validate(&self) -> Result<(), SlurmError> {
        let mut problems = Vec::new();
        if let Some(p) = &self.partition
            && !is_name_list(p)
        {
            problems.push(format!(
                "--partition `{}`: expected a partition name (letters, digits, `_.-`, comma-separated)",
                p.escape_debug()
            ));
        }
        if let Some(a) = &self.account
            && !is_name_list(a)
        {
            problems.push(format!(
                "--account `{}`: expected an account name (letters, digits, `_.-`)",
                a.escape_debug()
            ));
        }
        if let Some(t) = &self.time
            && !is_time_limit(t)
        {
            problems.push(format!(
                "--time `{}`: expected HH:MM:SS, MM:SS, minutes or D-HH[:MM[:SS]]",
                t.escape_debug()
            ));
        }
        if let Some(m) = &self.mem
            && !is_memory(m)
        {
            problems.push(format!(
                "--mem `{}`: expected a size such as 4000 (megabytes), 4000M, 16G",
                m.escape_debug()
            ));
        }
        if self.cpus_per_run == Some(0) {
            problems.push("--cpus-per-run: must be at least 1".into());
        }
        if self.array_parallelism == Some(0) {
            problems.push("--array-parallelism: must be at least 1".into());
        }
        if self.runs_per_task == 0 {
            problems.push("--runs-per-task: must be at least 1".into());
        }
        for arg in &self.sbatch_args {
            if let Err(why) = check_sbatch_arg(arg) {
                problems.push(format!("--sbatch-arg `{}`: {why}", arg.escape_debug()));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SlurmError::Options(problems))
        }
    }

    /// The `#SBATCH` options (without the `#SBATCH ` prefix) every array
    /// task of a submission carries. Call [`SlurmOptions::validate`] first.
    pub fn directives(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(p) = &self.partition {
            lines.push(format!("--partition={p}"));
        }
        if let Some(a) = &self.account {
            lines.push(format!("--account={a}"));
        }
        if let Some(t) = &self.time {
            lines.push(format!("--time={t}"));
        }
        lines.push("--ntasks=1".into());
        if let Some(c) = self.cpus_per_run {
            lines.push(format!("--cpus-per-task={c}"));
        }
        if let Some(m) = &self.mem {
            lines.push(format!("--mem={m}"));
        }
        if self.gpus_per_run > 0 {
            lines.push(format!("--gres=gpu:{}", self.gpus_per_run));
        }
        // A requeued task (preemption, node failure) appends to its output.
        lines.push("--open-mode=append".into());
        lines.push("--requeue".into());
        lines
    }

    /// `0-(N-1)[%K]` for `tasks` array tasks.
    pub fn array_spec(&self, tasks: usize) -> String {
        let last = tasks.saturating_sub(1);
        match self.array_parallelism {
            Some(k) => format!("0-{last}%{k}"),
            None => format!("0-{last}"),
        }
    }
}

fn is_name_list(s: &str) -> bool {
    !s.is_empty()
        && s.split(',').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        })
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}

/// Slurm's time formats: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M`, `D-H:M:S`,
/// and `UNLIMITED`/`INFINITE`.
fn is_time_limit(s: &str) -> bool {
    if s.eq_ignore_ascii_case("unlimited") || s.eq_ignore_ascii_case("infinite") {
        return true;
    }
    let (days, rest) = match s.split_once('-') {
        Some((d, r)) => (Some(d), r),
        None => (None, s),
    };
    if days.is_some_and(|d| !all_digits(d)) {
        return false;
    }
    let parts: Vec<&str> = rest.split(':').collect();
    parts.len() <= 3 && parts.iter().all(|p| all_digits(p))
}

fn is_memory(s: &str) -> bool {
    let digits = s.trim_end_matches(|c: char| "KMGTkmgt".contains(c));
    all_digits(digits) && s.len() - digits.len() <= 1
}

fn check_sbatch_arg(arg: &str) -> Result<(), &'static str> {
    if arg.chars().any(|c| c.is_control()) {
        return Err("control characters (newlines) are not allowed");
    }
    if !arg.starts_with('-') || arg == "-" || arg == "--" {
        return Err(
            "expected an sbatch option such as --qos=high (write option and value as one argument)",
        );
    }
    let name = arg.split_once('=').map_or(arg, |(n, _)| n);
    if MANAGED.contains(&name) || (name.starts_with("-a") && !name.starts_with("--")) {
        return Err("set by `sweep run --backend slurm` itself");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_slurm_syntax_and_rejects_the_rest() {
        let ok = SlurmOptions {
            partition: Some("gpu,gpu-long".into()),
            account: Some("lab_01".into()),
            time: Some("1-02:30:00".into()),
            mem: Some("16G".into()),
            cpus_per_run: Some(4),
            gpus_per_run: 1,
            array_parallelism: Some(8),
            runs_per_task: 2,
            sbatch_args: vec!["--qos=high".into(), "--constraint=a100|h100".into()],
        };
        ok.validate().unwrap();
        for t in ["30", "10:00", "02:00:00", "2-0", "2-12:00", "infinite"] {
            assert!(is_time_limit(t), "{t}");
        }
        for t in ["", "1h", "1:2:3:4", "a-01:00", "01:00\n#SBATCH"] {
            assert!(!is_time_limit(t), "{t:?}");
        }
        let bad = SlurmOptions {
            partition: Some("gpu\n#SBATCH --x".into()),
            mem: Some("4GB".into()),
            runs_per_task: 0,
            sbatch_args: vec!["high".into(), "--array=0-9".into(), "-a1".into()],
            ..SlurmOptions::default()
        };
        let err = bad.validate().unwrap_err().to_string();
        assert_eq!(err.lines().count(), 6, "{err}");
        assert!(err.contains("--partition"), "{err}");
        assert!(err.contains("--mem `4GB`"), "{err}");
        assert!(err.contains("--runs-per-task"), "{err}");
        assert!(
            err.contains("write option and value as one argument"),
            "{err}"
        );
        assert!(err.contains("set by `sweep run"), "{err}");
    }

    #[test]
    fn directives_map_options_to_sbatch_flags() {
        let opts = SlurmOptions {
            partition: Some("debug".into()),
            account: Some("lab".into()),
            time: Some("01:00:00".into()),
            gpus_per_run: 2,
            cpus_per_run: Some(8),
            mem: Some("32G".into()),
            array_parallelism: Some(3),
            ..SlurmOptions::default()
        };
        assert_eq!(
            opts.directives(),
            [
                "--partition=debug",
                "--account=lab",
                "--time=01:00:00",
                "--ntasks=1",
                "--cpus-per-task=8",
                "--mem=32G",
                "--gres=gpu:2",
                "--open-mode=append",
                "--requeue",
            ]
        );
        assert_eq!(opts.array_spec(10), "0-9%3");
        assert_eq!(SlurmOptions::default().array_spec(1), "0-0");
        assert!(
            !SlurmOptions::default()
                .directives()
                .iter()
                .any(|d| d.starts_with("--gres"))
        );
    }
}
