//! `sweep run`: train every pending run of a plan, one worker process per run,
//! one after another. (Concurrent scheduling across GPUs and CPU slots
//! replaces the loop below when the scheduler lands; the per-run protocol,
//! the store records and the exit code stay the same.)

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use sweep_core::events::WorkerEvent;
use sweep_core::experiment::Devices;
use sweep_core::launch::{Outcome, WorkerCommand, run_worker};
use sweep_core::plan::PlanStatus;
use sweep_core::run_spec::format_number;
use sweep_core::store::{RunStatus, SpecFile};

use crate::cli::RunArgs;
use crate::commands::plan::load_plan;

/// Which device string the worker gets (`cpu`, `cuda:0`).
fn device_for(devices: &Devices) -> String {
    match devices {
        Devices::Cpu => "cpu".into(),
        Devices::Cuda(ids) => format!("cuda:{}", ids.first().copied().unwrap_or(0)),
        Devices::Auto => "auto".into(),
    }
}

pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let (exp, plan, store) = load_plan(&args.common)?;
    let devices = match &args.devices {
        Some(text) => sweep_core::spec::validate::parse_devices_text(text).ok_or_else(|| {
            anyhow::anyhow!("--devices: expected auto, cpu, cuda or cuda:0,1; got `{text}`")
        })?,
        None => exp.resources.devices.clone(),
    };
    let threads = exp
        .resources
        .cpu_threads_per_run
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u32));
    let cmd = WorkerCommand {
        program: std::env::current_exe()?,
        args: vec!["worker".into()],
        env: vec![
            ("SWEEP_DEVICE".into(), device_for(&devices)),
            ("SWEEP_THREADS".into(), threads.to_string()),
        ],
    };
    let human = !args.json;
    let fancy = human && std::io::stderr().is_terminal();
    let total = plan.runs.len();
    let bar = if fancy {
        let bar = ProgressBar::new(total as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:30.cyan/blue} {pos}/{len} runs  {elapsed_precise}  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let say = |text: String| {
        if fancy {
            bar.println(text);
        } else if human {
            eprintln!("[{}] {text}", timestamp());
        }
    };

    let (mut cached, mut trained, mut failures) = (0usize, 0usize, Vec::new());
    let started = Instant::now();
    for run in &plan.runs {
        let label = format!(
            "{} {} lr={} {} fold {}",
            run.key.as_ref().map_or("-", |k| k.short()),
            run.spec.dataset,
            format_number(run.spec.lr),
            run.spec.arch,
            run.spec.fold_label()
        );
        let (Some(key), Some(input)) = (&run.key, &run.input) else {
            if let PlanStatus::MissingData(why) = &run.status {
                failures.push((label.clone(), format!("invalid-data: {why}")));
            }
            bar.inc(1);
            continue;
        };
        match &run.status {
            PlanStatus::Store(RunStatus::Done) if !args.force => {
                cached += 1;
                bar.inc(1);
                continue;
            }
            PlanStatus::Store(RunStatus::Failed(f)) if !args.retry_failed && !args.force => {
                failures.push((
                    label.clone(),
                    format!(
                        "{}: {} (earlier attempt; --retry-failed to retry)",
                        f.kind, f.message
                    ),
                ));
                bar.inc(1);
                continue;
            }
            _ => {}
        }
        if args.force {
            store.clear(key)?;
        }
        let dir = store.prepare(&SpecFile {
            key: key.clone(),
            input: input.clone(),
            data_file: run.data_file.clone(),
            experiments: vec![exp.name.clone()],
        })?;
        say(format!("start {label}"));
        bar.set_message(label.clone());
        let outcome = run_worker(&cmd, &store, &dir, |event| {
            if args.json {
                let mut v = serde_json::to_value(event).unwrap_or_default();
                v["key"] = serde_json::json!(key);
                println!("{v}");
            } else if let WorkerEvent::Epoch {
                epoch,
                epochs,
                train_loss,
                val_loss,
                monitor,
                monitor_name,
                ..
            } = event
            {
                let line = format!(
                    "{label}: epoch {epoch}/{epochs} train_loss {train_loss:.4} val_loss {val_loss:.4} {monitor_name} {monitor:.4}"
                );
                if fancy {
                    bar.set_message(line);
                } else {
                    say(line);
                }
            }
        })?;
        match outcome {
            Outcome::Done => {
                trained += 1;
                say(format!("done  {label}"));
            }
            Outcome::Failed { kind, message } => {
                say(format!("FAIL  {label}: {kind}: {message}"));
                failures.push((label, format!("{kind}: {message}")));
                if args.fail_fast {
                    bar.inc(1);
                    break;
                }
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let done = cached + trained;
    if human {
        eprintln!(
            "{}: {done}/{total} runs done ({trained} trained, {cached} cached), {} failed, in {:.1}s; results in {}",
            exp.name,
            failures.len(),
            started.elapsed().as_secs_f64(),
            store.root().display()
        );
        for (label, why) in &failures {
            eprintln!("  failed: {label}: {why}");
        }
    }
    Ok(if done == total {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    format!("{h:02}:{m:02}:{s:02}Z")
}
