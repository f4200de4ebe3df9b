//! What can go wrong between `sweep` and a Slurm cluster, each error naming
//! the file, folder or command involved, so a failed submission says where
//! to look and what to fix.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    /// The submission options, one problem per line.
    #[error("{}", .0.join("\n"))]
    Options(Vec<String>),

    /// A file or folder of the submission could not be created, written or
    /// resolved.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    /// A path that cannot go on a line of `runs.txt` or into `--output`.
    #[error("{what} {} {problem}", path.display())]
    UnusablePath {
        what: &'static str,
        path: PathBuf,
        problem: &'static str,
    },

    /// The results store refused a run folder.
    #[error("cannot {action} {}: {message}", path.display())]
    Store {
        action: &'static str,
        path: PathBuf,
        message: String,
    },

    /// A Slurm client command is not installed here.
    #[error("{program} not found on PATH ({hint})")]
    NotInstalled {
        program: &'static str,
        hint: &'static str,
    },

    /// A Slurm client command could not be started.
    #[error("{program}: {source}")]
    Spawn {
        program: &'static str,
        source: std::io::Error,
    },

    /// A Slurm client command ran and failed.
    #[error("{program} {status}: {message}")]
    Command {
        program: &'static str,
        status: std::process::ExitStatus,
        message: String,
    },

    /// `sbatch --parsable` succeeded but printed no job id.
    #[error("sbatch printed no job id: {output:?}")]
    NoJobId { output: String },

    /// `sbatch` refused the array; the submission folder stays for a look.
    #[error("{source} (files left in {})", dir.display())]
    NotSubmitted {
        dir: PathBuf,
        source: Box<SlurmError>,
    },

    /// The array runs, but its record could not be saved.
    #[error("job {job} was submitted but {} could not be written: {source}", path.display())]
    Unrecorded {
        job: String,
        path: PathBuf,
        source: std::io::Error,
    },

    /// `--wait` gave up after too many failed polls.
    #[error(
        "stopped waiting: cannot query Slurm ({source}); the jobs may still run, see `sweep status`"
    )]
    StoppedWaiting { source: Box<SlurmError> },
}

impl SlurmError {
    /// Whether the controller answered that it does not know a job (it
    /// ended longer ago than `MinJobAge`): not a failure to query.
    pub fn is_unknown_job(&self) -> bool {
        matches!(self, SlurmError::Command { message, .. } if message.contains("Invalid job id"))
    }
}
