//! `sweep run`: plan, skip what is cached, schedule the rest, summarise.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use sweep_core::plan::{PlanStatus, PlannedRun};
use sweep_core::run_spec::format_number;
use sweep_core::scheduler::gpu_memory::GpuMemoryProbe;
use sweep_core::scheduler::{
    self, GpuPacking, Job, Reporter, RetryPolicy, ScheduleOptions, SlotRequest,
};
use sweep_core::select::Selector;
use sweep_core::store::RunStatus;

use crate::cli::RunArgs;
use crate::commands::plan::load_plan;
use crate::progress;

/// `breastmnist chest_cnn lr=0.001 fold 1/3 seed 0`.
pub fn run_label(run: &PlannedRun) -> String {
    format!(
        "{} {} lr={} fold {} seed {}",
        run.spec.dataset,
        run.spec.arch,
        format_number(run.spec.lr),
        run.spec.fold_label(),
        run.spec.seed
    )
}

/// `--pull`: downloads the MedMNIST files that runs of the plan lack.
/// `Ok(true)` when something was downloaded; an error when a download failed.
fn pull_missing(plan: &sweep_core::plan::Plan, base_url: &str) -> anyhow::Result<bool> {
    let mut missing: Vec<sweep_data::catalog::DatasetRef> = Vec::new();
    for run in &plan.runs {
        let dataset = run.spec.dataset_ref();
        if matches!(run.status, PlanStatus::MissingData(_))
            && dataset.source == sweep_data::catalog::Source::File
            && !missing.contains(&dataset)
        {
            missing.push(dataset);
        }
    }
    if missing.is_empty() {
        return Ok(false);
    }
    if !crate::commands::data::pull_datasets(&missing, &plan.data_root, base_url) {
        anyhow::bail!("--pull: not every dataset could be downloaded; nothing was trained");
    }
    Ok(true)
}

pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let (exp, mut plan, store) = load_plan(&args.common)?;
    if args.pull && pull_missing(&plan, &args.base_url)? {
        // Plan again: the downloaded files now have fingerprints and keys.
        (_, plan, _) = load_plan(&args.common)?;
    }
    crate::image_folders::decode_pending(&mut plan, &store, args.force, args.json);
    let selectors = args
        .only
        .iter()
        .map(|s| Selector::parse_for(s, &exp))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("--only {e}"))?;
    let runs: Vec<&PlannedRun> = plan
        .runs
        .iter()
        .filter(|r| selectors.iter().all(|s| s.matches(&r.spec)))
        .collect();
    if args.backend == Some(crate::cli::Backend::Slurm) {
        // Hand the pending runs to Slurm as one job array (sweep_core::slurm).
        let absolute = |p: &std::path::Path| -> anyhow::Result<String> {
            std::path::absolute(p)?
                .into_os_string()
                .into_string()
                .map_err(|p| anyhow::anyhow!("{} is not valid UTF-8", p.display()))
        };
        let c = &args.common;
        let mut plan_args = vec![
            absolute(&c.file)?,
            "--results".into(),
            absolute(&c.results)?,
        ];
        if c.smoke {
            plan_args.push("--smoke".into());
        }
        if c.synthetic {
            plan_args.push("--synthetic".into());
        }
        if let Some(d) = &c.data_dir {
            plan_args.extend(["--data-dir".into(), absolute(d)?]);
        }
        let request = sweep_core::slurm::Request {
            experiment: &exp.name,
            runs: runs.iter().map(|r| (*r, run_label(r))).collect(),
            store: &store,
            // Flags override the experiment file's `slurm:` block.
            options: sweep_core::slurm::SlurmOptions {
                partition: args
                    .partition
                    .clone()
                    .or_else(|| exp.slurm.partition.clone()),
                account: args.account.clone().or_else(|| exp.slurm.account.clone()),
                time: args.time.clone().or_else(|| exp.slurm.time.clone()),
                gpus_per_run: args.gpus_per_run.or(exp.slurm.gpus_per_run).unwrap_or(0),
                cpus_per_run: args.cpus_per_run.or(exp.slurm.cpus_per_run),
                mem: args.mem.clone().or_else(|| exp.slurm.mem.clone()),
                array_parallelism: args.array_parallelism.or(exp.slurm.array_parallelism),
                runs_per_task: args.runs_per_task.or(exp.slurm.runs_per_task).unwrap_or(1),
                sbatch_args: if args.sbatch_arg.is_empty() {
                    exp.slurm.sbatch_args.clone()
                } else {
                    args.sbatch_arg.clone()
                },
            },
            force: args.force,
            retry_failed: args.retry_failed,
            wait: args.wait,
            dependency_report: args.dependency_report,
            plan_args,
            program: std::env::current_exe()?,
        };
        let outcome = sweep_core::slurm::run(&request, &mut std::io::stderr())
            .map_err(|e| anyhow::anyhow!(e))?;
        if let Some(job) = &outcome.job {
            println!("{job}");
        }
        return Ok(if outcome.ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let devices = match &args.devices {
        Some(text) => sweep_core::spec::validate::parse_devices_text(text).ok_or_else(|| {
            anyhow::anyhow!("--devices: expected auto, cpu, cuda or cuda:0,1; got `{text}`")
        })?,
        None => exp.resources.devices.clone(),
    };
    let gpus = if devices == sweep_core::experiment::Devices::Cpu {
        Vec::new()
    } else {
        scheduler::detect_gpus()
    };
    let (runs_per_gpu, packing) = scheduler::gpu_memory::choose_packing(
        args.runs_per_gpu.or(exp.resources.runs_per_gpu),
        &gpus,
        &GpuMemoryProbe::default(),
    );
    let slots = scheduler::plan_slots(&SlotRequest {
        gpus,
        devices,
        runs_per_gpu,
        jobs: args.jobs,
        cpu_threads_per_run: exp
            .resources
            .cpu_threads_per_run
            .or_else(scheduler::threads_from_env),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
        grow_threads: exp.resources.grow_threads,
    })
    .map_err(|e| anyhow::anyhow!(e))?;

    // Decide per run: cached, skipped (earlier failure, no data), or to run.
    let mut jobs = Vec::new();
    let mut cached = 0usize;
    let mut skipped: Vec<(String, String)> = Vec::new();
    for run in &runs {
        let label = run_label(run);
        let (Some(key), Some(_)) = (&run.key, &run.input) else {
            if let PlanStatus::MissingData(why) = &run.status {
                skipped.push((label, format!("invalid-data: {why}")));
            }
            continue;
        };
        match &run.status {
            PlanStatus::Store(RunStatus::Done) if !args.force => {
                cached += 1;
                continue;
            }
            PlanStatus::Store(RunStatus::Failed(f)) if !args.retry_failed && !args.force => {
                skipped.push((
                    label,
                    format!(
                        "{}: {} (earlier attempt; --retry-failed to retry)",
                        f.kind, f.message
                    ),
                ));
                continue;
            }
            _ => {}
        }
        if args.force {
            store.clear(key)?;
        }
        jobs.push(Job::planned(run, &exp.name, label).expect("keyed: checked above"));
    }

    if !jobs.is_empty() {
        store.check_writable().map_err(|e| anyhow::anyhow!(e))?;
    }
    let total = runs.len();
    let human = !args.json;
    if human {
        let placement = match &packing {
            GpuPacking::ByMemory { readings, .. } => format!(
                "on {} GPU{}, up to {} runs each as measured memory allows",
                readings.len(),
                if readings.len() == 1 { "" } else { "s" },
                runs_per_gpu.unwrap_or_default()
            ),
            GpuPacking::Fixed => format!(
                "on {} slot{} ({})",
                slots.len(),
                if slots.len() == 1 { "" } else { "s" },
                slots.first().map_or("-".into(), |s| s.describe())
            ),
        };
        eprintln!(
            "{}: {total} runs — {cached} cached, {} to train {placement}, {} skipped; results in {}",
            exp.name,
            jobs.len(),
            skipped.len(),
            store.root().display()
        );
    }
    let mut reporter: Box<dyn Reporter> = if args.json {
        Box::new(progress::json::Json)
    } else if std::io::stderr().is_terminal() {
        Box::new(progress::terminal::Terminal::new(
            total as u64,
            (cached + skipped.len()) as u64,
        ))
    } else {
        Box::new(progress::lines::Lines)
    };
    let options = ScheduleOptions {
        program: super::worker::worker_program()?,
        args: Vec::new(),
        policy: RetryPolicy {
            max_retries: args.max_retries,
            fail_fast: args.fail_fast,
        },
        timeout: args.timeout,
        packing,
    };
    let started = Instant::now();
    let summary = scheduler::run(&store, jobs, slots, &options, reporter.as_mut());
    drop(reporter);

    let trained = summary.trained.len();
    let by_other = summary.cached_by_other.len();
    let done = cached + trained + by_other;
    if human {
        eprintln!(
            "{}: {done}/{total} runs done ({trained} trained, {} cached), {} failed, {} not run, in {:.1}s",
            exp.name,
            cached + by_other,
            summary.failed.len() + skipped.len(),
            summary.not_run.len(),
            started.elapsed().as_secs_f64(),
        );
        for (job, kind, message) in &summary.failed {
            eprintln!(
                "  failed: {} {}: {kind}: {message} (log: {})",
                job.spec.key.short(),
                job.label,
                store
                    .run_dir(&job.spec.key)
                    .join(sweep_core::store::LOG_FILE)
                    .display()
            );
        }
        for (label, why) in &skipped {
            eprintln!("  failed: {label}: {why}");
        }
        if summary.interrupted {
            eprintln!("  interrupted: run the same command again to continue");
        }
    }
    Ok(if done == total {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
