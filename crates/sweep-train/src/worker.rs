//! The worker: one prepared run folder in, trained weights and numbers out.
//!
//! `sweep-worker <dir>` (or `sweep worker <dir>`) reads `spec.json`, trains,
//! writes the run's files and finally the completion marker. Progress goes to stdout as JSON lines
//! ([`WorkerEvent`]); anything else libtorch prints goes to stderr, which the
//! orchestrator stores as `worker.log`. On failure the last stdout line is a
//! `failed` event with a one-line reason, and the exit code is non-zero.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::Instant;

use sweep_core::protocol::events::WorkerEvent;
use sweep_core::protocol::exit::{BUSY_EXIT_CODE, INTERRUPTED_EXIT_CODE};
use sweep_core::protocol::lease::{Acquire, Lease};
use sweep_core::stage_modules;
use sweep_core::store::{
    CHECKPOINT_FILE, FailureKind, HISTORY_FILE, METRICS_FILE, PREDICTIONS_FILE, SpecFile, Store,
};
use sweep_core::tensorboard::EventLog;
use sweep_core::train_options::MonitorMetric;
use tch::{Device, nn};

use crate::data::{PreparedData, prepare};
use crate::fit::{FitError, Trainer};
use crate::loss::Loss;
use crate::models::torchscript::TorchScriptNet;
use crate::models::{self, ModelConfig};
use crate::outputs::{self, GrownThreads, RunMetrics, Versions};
use crate::pretrained::load_pretrained;
use crate::torch_runtime;

/// A failure with its category.
#[derive(Debug)]
pub struct WorkerError {
    pub kind: FailureKind,
    pub message: String,
}

fn fail(kind: FailureKind, message: impl Into<String>) -> WorkerError {
    WorkerError {
        kind,
        message: message.into(),
    }
}

fn emit(event: &WorkerEvent) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", event.to_line());
    let _ = out.flush();
}

/// The worker process's whole job: take the run's lease, train, and return
/// the exit code (0 done, [`BUSY_EXIT_CODE`] when another process holds the
/// lease, 1 on failure).
pub fn main(dir: &Path) -> i32 {
    let _lease = match Lease::try_acquire(dir) {
        Ok(Acquire::Held(lease)) => lease,
        Ok(Acquire::Busy(pid)) => {
            crate::worker_log!(
                "sweep worker: {} is being trained by process {}",
                dir.display(),
                pid.map_or("?".into(), |p| p.to_string())
            );
            return BUSY_EXIT_CODE;
        }
        Err(e) => {
            let e = fail(
                FailureKind::Crashed,
                format!("cannot take the run's lease: {e}"),
            );
            report(&e);
            return 1;
        }
    };
    // Another process may have completed the run between the scheduler's
    // check and this lease: then there is nothing to do, and the scheduler
    // (seeing the busy code) re-checks and counts it as cached.
    if let (Some(key), Some(root)) = (
        dir.file_name()
            .and_then(|n| n.to_str())
            .and_then(sweep_core::hash::RunKey::parse),
        dir.parent(),
    ) && Store::new(root).status(&key) == sweep_core::store::RunStatus::Done
    {
        return BUSY_EXIT_CODE;
    }
    match run(dir) {
        Ok(()) => 0,
        Err(e) if e.kind == FailureKind::Interrupted => INTERRUPTED_EXIT_CODE,
        Err(_) => 1,
    }
}

fn report(e: &WorkerError) {
    crate::worker_log!("sweep worker: {}: {}", e.kind, e.message);
    emit(&WorkerEvent::Failed {
        kind: e.kind,
        message: e.message.clone(),
    });
}

/// Trains the run in `dir`; on failure reports it (event + stderr) and returns it.
pub fn run(dir: &Path) -> Result<(), WorkerError> {
    let result = match catch_unwind(AssertUnwindSafe(|| train(dir))) {
        Ok(r) => r,
        Err(panic) => {
            let text = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            let kind = if text.contains("out of memory") {
                FailureKind::Oom
            } else {
                FailureKind::Crashed
            };
            Err(fail(kind, first_line(&text)))
        }
    };
    if let Err(e) = &result {
        report(e);
    }
    result
}

/// The first meaningful line of a libtorch error, without the backtrace and
/// without the `unwrap` wrapper that tch's panicking calls add.
fn first_line(s: &str) -> String {
    let s = s
        .strip_prefix("called `Result::unwrap()` on an `Err` value: ")
        .unwrap_or(s);
    let s = s.strip_prefix("Torch(\"").unwrap_or(s);
    let end = [s.find('\n'), s.find("\\n")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(s.len());
    s[..end].trim().trim_end_matches("\")").to_string()
}

/// `SWEEP_DEVICE`: `cpu`, `cuda:N`, or `auto` (default: a GPU when libtorch
/// sees one). A run handed a GPU trains on it or fails: falling back to the
/// CPU would look like success while taking tens of times longer, and would
/// hide a worker built without CUDA.
fn device_from_env(report: &torch_runtime::DeviceReport) -> Result<Device, WorkerError> {
    let requested = std::env::var("SWEEP_DEVICE").unwrap_or_default();
    let cuda_index = match requested.as_str() {
        "" | "auto" => return Ok(Device::cuda_if_available()),
        "cpu" => return Ok(Device::Cpu),
        "cuda" => Some(0),
        s => s
            .strip_prefix("cuda:")
            .and_then(|i| i.parse::<usize>().ok()),
    };
    let Some(index) = cuda_index else {
        return Err(fail(
            FailureKind::NoDevice,
            format!("SWEEP_DEVICE={requested:?}: expected auto, cpu, cuda or cuda:N"),
        ));
    };
    if (index as i64) < report.cuda_device_count {
        Ok(Device::Cuda(index))
    } else {
        Err(fail(
            FailureKind::NoDevice,
            unusable_gpu(&requested, report),
        ))
    }
}

/// Why a run given `requested` cannot have it, and what to do.
fn unusable_gpu(requested: &str, report: &torch_runtime::DeviceReport) -> String {
    let visible = std::env::var("CUDA_VISIBLE_DEVICES")
        .map(|v| format!("CUDA_VISIBLE_DEVICES={v:?}"))
        .unwrap_or_else(|_| "CUDA_VISIBLE_DEVICES unset".into());
    let cause = match &report.cuda_library {
        torch_runtime::CudaLibrary::Absent => {
            "this worker's libtorch has no CUDA library (a CPU-only build)".to_string()
        }
        torch_runtime::CudaLibrary::Failed { path, error } => {
            format!("loading {} failed: {error}", path.display())
        }
        torch_runtime::CudaLibrary::NotNeeded { path } => format!(
            "this worker started for the CPU (SWEEP_DEVICE=cpu) and did not load {}",
            path.display()
        ),
        torch_runtime::CudaLibrary::Loaded { .. } => format!(
            "libtorch {} loaded its CUDA library but sees {} GPU(s): no driver, a driver too \
             old for this build, or the card hidden",
            report.torch_version, report.cuda_device_count
        ),
    };
    format!(
        "this run was given GPU {requested} ({visible}) but cannot use it: {cause}; \
         `sweep run --devices cpu` trains on the CPU instead"
    )
}

fn device_name(d: Device) -> String {
    match d {
        Device::Cuda(i) => format!("cuda:{i}"),
        _ => "cpu".into(),
    }
}

/// A larger thread budget the scheduler granted this run at the tail of a
/// sweep (`resources.grow_threads`), read from the run folder; `None` when
/// there is none above `current`.
fn granted_threads(dir: &Path, current: i32) -> Option<i32> {
    let granted = i32::try_from(sweep_core::protocol::thread_grant::read_grant(dir)?).ok()?;
    (granted > current).then_some(granted)
}

/// The run's network: a zoo architecture with fresh weights, or the saved
/// TorchScript module whose sha256 the key holds (staged beside the run
/// folder), checked against one batch of the dataset before training.
fn build_model(
    spec_file: &SpecFile,
    dir: &Path,
    vs: &nn::VarStore,
    cfg: &ModelConfig,
    data: &PreparedData,
) -> Result<models::Model, WorkerError> {
    let spec = &spec_file.input.run;
    let invalid = |e: models::ModelError| fail(FailureKind::InvalidData, e.to_string());
    let Some(sha256) = &spec_file.input.torchscript_sha256 else {
        let model = models::build(&spec.arch, &vs.root(), cfg).map_err(invalid)?;
        models::initialise(vs, &spec.arch, spec.train.init);
        return Ok(model);
    };
    let results = dir.parent().unwrap_or(Path::new("."));
    let file = stage_modules::staged_module(results, sha256);
    let source = stage_modules::staged_source(&file);
    let net = TorchScriptNet::load(&file, &vs.root())
        .map_err(invalid)?
        .shown_as(&source);
    let batch = data.train.images.narrow(0, 0, (data.train.n as i64).min(2));
    net.check_shapes(&data.preprocess.apply(&batch), data.num_outputs as i64)
        .map_err(invalid)?;
    crate::worker_log!(
        "sweep worker: TorchScript module {} ({})",
        source.display(),
        file.display()
    );
    Ok(Box::new(net))
}

fn train(dir: &Path) -> Result<(), WorkerError> {
    let wall = Instant::now();
    if !crate::host_memory::keep_freed_memory() {
        crate::worker_log!("sweep worker: malloc tuning not applied (not glibc)");
    }
    let report = torch_runtime::device_report();
    let spec_file = Store::read_spec(dir)
        .map_err(|e| fail(FailureKind::InvalidData, format!("spec.json: {e}")))?;
    let key = spec_file.key.to_string();
    let spec = &spec_file.input.run;
    let threads: i32 = std::env::var("SWEEP_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1)
        .max(1);
    tch::set_num_threads(threads);
    // libtorch accepts the inter-op thread count once per process, before
    // any parallel work; a worker process trains one run, and a process that
    // trains several in turn (the trainer's own tests) keeps the first.
    static INTEROP_THREADS: std::sync::Once = std::sync::Once::new();
    INTEROP_THREADS.call_once(|| tch::set_num_interop_threads(1));
    let device = device_from_env(&report)?;
    tch::manual_seed(spec.seed as i64);
    if let Device::Cuda(_) = device {
        tch::Cuda::manual_seed_all(spec.seed);
    }

    let data: PreparedData = prepare(spec, spec_file.data_file.as_deref(), device)
        .map_err(|e| fail(FailureKind::InvalidData, e))?;
    let mut vs = nn::VarStore::new(device);
    let cfg = ModelConfig {
        batch_norm: spec.train.batch_norm,
        stem: spec.train.stem,
        ..ModelConfig::new(
            data.preprocess.channels,
            data.num_outputs as i64,
            data.preprocess.size,
        )
    };
    let model = build_model(&spec_file, dir, &vs, &cfg, &data)?;
    if let Some(pretrained) = &spec.train.pretrained {
        let file = crate::pretrained::pretrained_file(
            pretrained,
            spec_file.input.weights_sha256.as_deref(),
        )
        .map_err(|e| fail(FailureKind::InvalidData, e))?;
        let report = load_pretrained(&mut vs, &file).map_err(|e| {
            fail(
                FailureKind::InvalidData,
                format!("pretrained weights {}: {e}", file.display()),
            )
        })?;
        crate::worker_log!(
            "sweep worker: pretrained weights {pretrained} ({}): {report}",
            file.display()
        );
    }
    // After the pretrained copy (which keeps a variable's layout either way).
    crate::memory_format::weights_to_channels_last(&vs);
    let (params, trainable) = models::param_count(&vs);
    let loss = Loss::new(
        data.task,
        data.num_outputs,
        &data.train.labels,
        data.train.label_width,
        &spec.class_weighting,
        &spec.pos_weight,
        device,
    )
    .with_weighted_eval(spec.train.weighted_eval_loss);
    emit(&WorkerEvent::Started {
        key: key.clone(),
        device: device_name(device),
        params,
        train_samples: data.train.n,
        val_samples: data.val.n,
        epochs: spec.train.epochs,
    });

    // SIGTERM (the scheduler's first Ctrl-C) asks for a stop after this epoch.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let _ = signal_hook::flag::register(signal_hook::consts::SIGTERM, std::sync::Arc::clone(&stop));
    let checkpoint = dir.join(CHECKPOINT_FILE);
    let mut trainer = Trainer {
        vs: &mut vs,
        model: &model,
        data: &data,
        loss: &loss,
        options: &spec.train,
        device,
        seed: spec.seed,
        stop: &stop,
    };
    // The progress line shows the checkpoint's metric; with `checkpoint:
    // last` there is none, and it shows the validation loss.
    let monitor = spec
        .train
        .checkpoint
        .monitor()
        .map_or(MonitorMetric::ValLoss, |m| m.metric);
    let mut grown: Option<GrownThreads> = None;
    // Live curves for TensorBoard, best effort: a run never fails for them.
    let mut curves = Some(EventLog::new(dir, spec_file.label.as_deref()));
    let fit = trainer
        .fit(spec.lr, &checkpoint, dir, |r| {
            if let Some(log) = &mut curves
                && let Err(e) = log.write_epoch(r.epoch, &outputs::history_columns(r))
            {
                crate::worker_log!(
                    "sweep worker: TensorBoard curves stop at epoch {}: {}: {e}",
                    r.epoch,
                    log.dir().display()
                );
                curves = None;
            }
            if let Some(more) = granted_threads(dir, grown.map_or(threads, |g| g.threads)) {
                // Between epochs no operation is running, so libtorch takes
                // the new intra-op thread count from the next one on.
                tch::set_num_threads(more);
                crate::worker_log!(
                    "sweep worker: {more} threads from epoch {} (cores freed by ended runs)",
                    r.epoch + 1
                );
                grown = Some(GrownThreads {
                    threads: more,
                    from_epoch: r.epoch + 1,
                });
            }
            emit(&WorkerEvent::Epoch {
                epoch: r.epoch,
                epochs: spec.train.epochs,
                lr: r.lr,
                train_loss: r.train.loss,
                val_loss: r.val.loss,
                monitor: r.metric(monitor),
                monitor_name: monitor.as_str().to_string(),
                seconds: r.seconds,
            })
        })
        .map_err(|e| match e {
            FitError::Diverged { epoch, loss } => fail(
                FailureKind::Diverged,
                format!("loss is {loss} at epoch {epoch}"),
            ),
            FitError::Interrupted { epoch } => fail(
                FailureKind::Interrupted,
                format!("stopped on request after epoch {epoch}; it resumes from there"),
            ),
            FitError::Torch(m) if m.contains("out of memory") => {
                fail(FailureKind::Oom, first_line(&m))
            }
            FitError::Torch(m) => fail(FailureKind::Crashed, first_line(&m)),
        })?;

    // Final numbers with the kept weights, each split in evaluation mode.
    let crash = |e: String| fail(FailureKind::Crashed, e);
    let train_pred = trainer.predict(&data.train);
    let val_pred = match fit.kept_val {
        Some(p) => p,
        None => trainer.predict(&data.val),
    };
    let test_pred = trainer.predict(&data.test);
    let metrics = RunMetrics {
        key: key.clone(),
        dataset: spec.dataset.clone(),
        arch: spec.arch.clone(),
        task: data.task.to_string(),
        params,
        trainable_params: trainable,
        epochs_run: fit.history.len() as u32,
        best_epoch: fit.best_epoch,
        stopped_early: fit.stopped_early,
        train_seconds: fit.train_seconds,
        wall_seconds: wall.elapsed().as_secs_f64(),
        peak_rss_mib: outputs::peak_rss_mib(),
        device: device_name(device),
        threads,
        threads_grown: grown,
        samples: [data.train.n, data.val.n, data.test.n],
        weights: loss.resolved.clone(),
        train: trainer
            .score(&data.train.labels, &train_pred.probs)
            .map_err(crash)?,
        val: trainer
            .score(&data.val.labels, &val_pred.probs)
            .map_err(crash)?,
        test: trainer
            .score(&data.test.labels, &test_pred.probs)
            .map_err(crash)?,
        train_loss: train_pred.loss,
        val_loss: val_pred.loss,
        test_loss: test_pred.loss,
        versions: Versions {
            sweep: env!("CARGO_PKG_VERSION").into(),
            torch: report.torch_version.clone(),
            tch: crate::tch_release::TCH_VERSION.into(),
        },
    };
    let io = |e: std::io::Error| fail(FailureKind::Crashed, format!("writing results: {e}"));
    outputs::write_history(dir, &fit.history).map_err(io)?;
    outputs::write_predictions(
        dir,
        &data.test.labels,
        data.test.label_width,
        &test_pred.probs,
        data.num_outputs,
    )
    .map_err(io)?;
    outputs::write_metrics(dir, &metrics).map_err(io)?;
    Store::complete(
        dir,
        &spec_file.key,
        &[
            METRICS_FILE,
            HISTORY_FILE,
            PREDICTIONS_FILE,
            CHECKPOINT_FILE,
        ],
    )
    .map_err(io)?;
    crate::worker_log!("sweep worker: completed");
    crate::resume::clear(dir);
    emit(&WorkerEvent::Finished {
        best_epoch: fit.best_epoch,
        stopped_early: fit.stopped_early,
        test_auc: metrics.test.auc,
        test_accuracy: metrics.test.accuracy,
        seconds: metrics.wall_seconds,
    });
    Ok(())
}
