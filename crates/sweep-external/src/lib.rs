//! Runs an experiment's own training command (`worker:` in the experiment
//! file) in place of sweep's trainer, for one prepared run folder.
//!
//! `sweep-worker <run folder>` hands a run to [`main`] before it touches
//! libtorch when the run's `spec.json` names a command. Everything around
//! the worker therefore stays as it is for any run (the scheduler's slots,
//! process group, timeout, Ctrl-C, retries and GPU packing; Slurm arrays),
//! and this crate does, in order:
//!
//! 1. take the run's lease, as the trainer does ([`sweep_core::protocol::lease`]);
//! 2. check that the command's code is the code the run's key was made
//!    from, and prepare `inputs.json` ([`inputs`]);
//! 3. start the command and follow it ([`command`]);
//! 4. on exit 0, read its predictions ([`predictions`]), compute every
//!    metric from them with sweep's own code ([`metrics`]), write
//!    `metrics.json` and then `complete.json`.
//!
//! The files and fields the command sees and writes are specified in
//! `docs/protocol.md`; `python/sweep_run.py` implements that side.

mod command;
pub mod inputs;
mod metrics;
mod predictions;

use std::io::Write;
use std::path::{Path, PathBuf};

use sweep_core::code_fingerprint::{code_fingerprint, describe_change};
use sweep_core::protocol::events::WorkerEvent;
use sweep_core::protocol::exit::{BUSY_EXIT_CODE, INTERRUPTED_EXIT_CODE};
use sweep_core::protocol::lease::{Acquire, Lease};
use sweep_core::store::{
    FailureKind, HISTORY_FILE, LOG_FILE, METRICS_FILE, PREDICTIONS_FILE, RunStatus, SpecFile,
    Store, write_atomic,
};
use sweep_core::worker_command::WorkerCommand;

use crate::inputs::{INPUTS_FILE, VAL_PREDICTIONS_FILE};
use crate::predictions::Expected;

/// Environment variables the command is given besides the worker's own.
pub const RUN_DIR_ENV: &str = "SWEEP_RUN_DIR";
pub const INPUTS_ENV: &str = "SWEEP_INPUTS";
pub const CODE_DIR_ENV: &str = "SWEEP_CODE_DIR";

/// A failed run, with its category.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

fn fail(kind: FailureKind, message: impl Into<String>) -> Failure {
    Failure {
        kind,
        message: message.into(),
    }
}

/// The exit code of a worker for the run in `dir` when a command of the
/// experiment's own trains it; `None` when sweep's trainer does (or
/// `spec.json` cannot be read, which the trainer then reports).
pub fn main(dir: &Path) -> Option<i32> {
    let spec_file = Store::read_spec(dir).ok()?;
    let worker = spec_file.input.run.worker.clone()?;
    Some(with_lease(dir, &spec_file, &worker))
}

fn with_lease(dir: &Path, spec_file: &SpecFile, worker: &WorkerCommand) -> i32 {
    let _lease = match Lease::try_acquire(dir) {
        Ok(Acquire::Held(lease)) => lease,
        Ok(Acquire::Busy(pid)) => {
            eprintln!(
                "sweep worker: {} is being trained by process {}",
                dir.display(),
                pid.map_or("?".into(), |p| p.to_string())
            );
            return BUSY_EXIT_CODE;
        }
        Err(e) => {
            report(&fail(
                FailureKind::Crashed,
                format!("cannot take the run's lease: {e}"),
            ));
            return 1;
        }
    };
    // Completed by another process since the scheduler looked: nothing to do.
    if let Some(root) = dir.parent()
        && Store::new(root).status(&spec_file.key) == RunStatus::Done
    {
        return BUSY_EXIT_CODE;
    }
    match run(dir, spec_file, worker) {
        Ok(()) => 0,
        Err(e) => {
            report(&e);
            if e.kind == FailureKind::Interrupted {
                INTERRUPTED_EXIT_CODE
            } else {
                1
            }
        }
    }
}

fn emit(event: &WorkerEvent) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", event.to_line());
    let _ = out.flush();
}

fn report(e: &Failure) {
    eprintln!("sweep worker: {}: {}", e.kind, e.message);
    emit(&WorkerEvent::Failed {
        kind: e.kind,
        message: e.message.clone(),
    });
}

/// Trains the run in `dir` with its command and records the results.
pub fn run(dir: &Path, spec_file: &SpecFile, worker: &WorkerCommand) -> Result<(), Failure> {
    let wall = std::time::Instant::now();
    let stops = command::StopRequests::listen();
    let invalid = |m: String| fail(FailureKind::InvalidData, m);
    let folder = spec_file.workdir.clone().ok_or_else(|| {
        invalid("spec.json names no folder for the command's program and code".into())
    })?;
    check_code(&folder, spec_file, worker)?;
    let (program, args) = command::argv(worker, &folder).map_err(invalid)?;
    let (inputs, pool) = inputs::prepare(dir, spec_file).map_err(invalid)?;
    // Whatever an earlier attempt left must not pass for this one's output.
    for name in [VAL_PREDICTIONS_FILE, PREDICTIONS_FILE, HISTORY_FILE] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    let env = [
        (RUN_DIR_ENV, dir.to_path_buf()),
        (INPUTS_ENV, dir.join(INPUTS_FILE)),
        (CODE_DIR_ENV, folder.clone()),
    ];
    if stops.asked() {
        return Err(fail(
            FailureKind::Interrupted,
            "stopped on request before the command started",
        ));
    }
    eprintln!("sweep worker: running {}", worker.display());
    let ended = command::run(&program, &args, dir, &env, &stops)
        .map_err(|m| fail(FailureKind::Crashed, m))?;
    if !ended.status.success() {
        return Err(ended_badly(dir, worker, &ended));
    }
    let spec = &spec_file.input.run;
    let task = inputs.task;
    let outputs = inputs.num_outputs;
    let width = pool.label_width;
    let labels_of =
        |idx: &[usize]| -> Vec<u8> { idx.iter().flat_map(|&i| pool.label(i).to_vec()).collect() };
    let mut summaries = Vec::new();
    for (split, file, idx) in [
        ("validation", VAL_PREDICTIONS_FILE, &inputs.indices.val),
        ("test", PREDICTIONS_FILE, &inputs.indices.test),
    ] {
        let labels = labels_of(idx);
        let want = Expected {
            split,
            dataset: &spec.dataset,
            labels: &labels,
            label_width: width,
            outputs,
        };
        let invalid_output = |m: String| fail(FailureKind::InvalidOutput, m);
        let scores = predictions::read(&dir.join(file), &want).map_err(invalid_output)?;
        let summary = metrics::score(task, &labels, &scores.probs, outputs, spec.train.threshold)
            .map_err(|e| invalid_output(format!("{}: {e}", dir.join(file).display())))?;
        let loss = metrics::log_loss(task, &labels, &scores.probs, outputs);
        let canonical = predictions::canonical(&labels, width, &scores.probs, outputs);
        write_atomic(&dir.join(file), &canonical).map_err(|e| crashed_writing(file, &e))?;
        summaries.push((summary, loss));
    }
    let epochs_run = history_rows(dir)?;
    if epochs_run.is_some() {
        write_curves(dir, spec_file.label.as_deref());
    }
    let (test, test_loss) = summaries.pop().expect("two splits were scored");
    let (val, val_loss) = summaries.pop().expect("two splits were scored");
    let record = metrics::ExternalMetrics {
        key: spec_file.key.to_string(),
        dataset: spec.dataset.clone(),
        arch: spec.arch.clone(),
        task: task.to_string(),
        command: worker.command.clone(),
        epochs_run,
        params: ended.params,
        train_seconds: ended.seconds,
        wall_seconds: wall.elapsed().as_secs_f64(),
        device: std::env::var("SWEEP_DEVICE").unwrap_or_else(|_| "auto".into()),
        threads: std::env::var("SWEEP_THREADS")
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or(1),
        samples: [
            inputs.indices.train.len(),
            inputs.indices.val.len(),
            inputs.indices.test.len(),
        ],
        test_loss,
        val_loss,
        versions: metrics::Versions {
            sweep: env!("CARGO_PKG_VERSION").into(),
        },
        val,
        test,
    };
    let json = serde_json::to_vec_pretty(&record).map_err(|e| crashed_writing(METRICS_FILE, &e))?;
    write_atomic(&dir.join(METRICS_FILE), &json).map_err(|e| crashed_writing(METRICS_FILE, &e))?;
    let mut files = vec![
        INPUTS_FILE,
        METRICS_FILE,
        VAL_PREDICTIONS_FILE,
        PREDICTIONS_FILE,
    ];
    if epochs_run.is_some() {
        files.push(HISTORY_FILE);
    }
    Store::complete(dir, &spec_file.key, &files)
        .map_err(|e| crashed_writing("complete.json", &e))?;
    eprintln!("sweep worker: completed");
    emit(&WorkerEvent::Finished {
        best_epoch: epochs_run.unwrap_or(0),
        stopped_early: false,
        test_auc: record.test.auc,
        test_accuracy: record.test.accuracy,
        seconds: record.wall_seconds,
    });
    Ok(())
}

fn crashed_writing(file: &str, e: &dyn std::fmt::Display) -> Failure {
    fail(FailureKind::Crashed, format!("writing {file}: {e}"))
}

/// The code on disk must be the code the key was made from: an edit
/// between planning and running would file results under the wrong key.
fn check_code(folder: &Path, spec_file: &SpecFile, worker: &WorkerCommand) -> Result<(), Failure> {
    let now =
        code_fingerprint(folder, &worker.code).map_err(|m| fail(FailureKind::InvalidData, m))?;
    let planned = spec_file.input.code.clone().unwrap_or_default();
    if now != planned {
        return Err(fail(
            FailureKind::InvalidData,
            format!(
                "the command's code changed since this run was planned ({}); run sweep again to train it under its new key",
                describe_change(&planned, &now)
            ),
        ));
    }
    Ok(())
}

/// TensorBoard curves from the command's `history.csv`, as sweep's trainer
/// writes them (under `tb/`, one tag per column), once the command has
/// finished: the command reports epochs as progress events, not values.
/// Best effort, as in the trainer: a failure is logged and the run goes on.
fn write_curves(dir: &Path, label: Option<&str>) {
    let written = (|| -> Result<(), Box<dyn std::error::Error>> {
        let mut reader = csv::Reader::from_path(dir.join(HISTORY_FILE))?;
        let header = reader.headers()?.clone();
        let mut curves = sweep_core::tensorboard::EventLog::new(dir, label);
        for record in reader.records() {
            let record = record?;
            let mut epoch = None;
            let mut columns = Vec::new();
            for (name, cell) in header.iter().zip(record.iter()) {
                if name == "epoch" {
                    epoch = cell.trim().parse::<u32>().ok();
                } else {
                    columns.push((name.to_string(), cell.trim().parse::<f64>().ok()));
                }
            }
            if let Some(epoch) = epoch {
                curves.write_epoch(epoch, &columns)?;
            }
        }
        Ok(())
    })();
    if let Err(e) = written {
        eprintln!("sweep worker: TensorBoard curves not written: {e}");
    }
}

/// Rows of the command's `history.csv` (`None` without one).
fn history_rows(dir: &Path) -> Result<Option<u32>, Failure> {
    let path = dir.join(HISTORY_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let bad = |why: String| {
        fail(
            FailureKind::InvalidOutput,
            format!("{}: {why}", path.display()),
        )
    };
    let mut reader = csv::Reader::from_path(&path).map_err(|e| bad(e.to_string()))?;
    let header = reader.headers().map_err(|e| bad(e.to_string()))?.clone();
    if !header.iter().any(|h| h == "epoch") {
        return Err(bad("no `epoch` column".into()));
    }
    let mut rows = 0u32;
    for record in reader.records() {
        record.map_err(|e| bad(e.to_string()))?;
        rows += 1;
    }
    Ok(Some(rows))
}

/// Why a command that did not exit 0 failed, with its log named.
fn ended_badly(dir: &Path, worker: &WorkerCommand, ended: &command::Ended) -> Failure {
    let log: PathBuf = dir.join(LOG_FILE);
    let how = {
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            match ended.status.signal() {
                Some(sig) => format!("was killed by signal {sig}"),
                None => format!("exited with status {}", ended.status.code().unwrap_or(-1)),
            }
        }
        #[cfg(not(unix))]
        {
            format!("exited with status {}", ended.status.code().unwrap_or(-1))
        }
    };
    if ended.stop_requested {
        return fail(
            FailureKind::Interrupted,
            format!("stopped on request (the command {how}); it starts again next time"),
        );
    }
    let last = ended.reported.clone().or_else(|| last_log_line(&log));
    let kind = if last.as_deref().is_some_and(|l| l.contains("out of memory")) {
        FailureKind::Oom
    } else {
        FailureKind::Crashed
    };
    let said = last.map_or(String::new(), |l| format!(": {l}"));
    fail(
        kind,
        format!("`{}` {how}{said}; see {}", worker.display(), log.display()),
    )
}

fn last_log_line(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("sweep worker: running "))
        .map(str::to_string)
}
