//! `sweep run`: plan, triage (what is cached, skipped or to train), hand the
//! rest to a backend (local worker processes or one Slurm job array), and
//! summarise.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use sweep_core::decode_folders::{DecodeNotice, decode_pending};
use sweep_core::expand::Variant;
use sweep_core::experiment::{Devices, Experiment};
use sweep_core::hash::RunKey;
use sweep_core::plan::{Plan, PlanStatus, PlannedRun};
use sweep_core::recorded::ExperimentRecord;
use sweep_core::run_folders::Adopt;
use sweep_core::run_label::RunLabels;
use sweep_core::scheduler::gpu_memory::GpuMemoryProbe;
use sweep_core::scheduler::{
    self, GpuPacking, Job, Reporter, RetryPolicy, ScheduleOptions, Slot, SlotRequest, Summary,
};
use sweep_core::select::Selector;
use sweep_core::slurm::{self, SlurmOptions, SlurmReporter};
use sweep_core::store::Store;
use sweep_core::triage::{Triage, TriageOptions, triage};

use crate::cli::{Backend, Common, RunArgs};
use crate::commands::plan::{load_experiment_to_run, plan_experiment};
use crate::progress;
use crate::progress::failures::{Failed, failure_lines};

/// Every run of `plan` with its label: dataset, architecture, learning rate,
/// every other field that varies among the plan's runs, fold and seed
/// (`breastmnist chest_cnn lr=0.001 class_weighting=balanced fold 1/3 seed 0`;
/// see [`RunLabels`]).
pub(crate) fn labelled_runs(plan: &Plan) -> impl Iterator<Item = (&PlannedRun, String)> {
    let labels = RunLabels::new(plan.runs.iter().map(|r| &r.spec));
    plan.runs.iter().map(move |r| (r, labels.label(&r.spec)))
}

/// `--pull`: downloads the MedMNIST files that runs of the plan lack.
/// `Ok(true)` when something was downloaded; an error when a download failed.
fn pull_missing(plan: &Plan, base_url: &str) -> anyhow::Result<bool> {
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

/// `--pull`: downloads and converts the pretrained weights that runs of the
/// plan name but the weights cache lacks (or holds changed). `Ok(true)` when
/// something was pulled; an error when a pull failed.
fn pull_missing_weights(plan: &Plan) -> anyhow::Result<bool> {
    use sweep_data::weights::{WeightsCache, catalog};
    let entries = catalog::from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
    let cache = WeightsCache::from_env();
    let mut missing: Vec<&catalog::WeightsEntry> = Vec::new();
    for run in &plan.runs {
        let Some(name) = run
            .spec
            .train
            .pretrained
            .as_ref()
            .and_then(|p| p.weights_name())
        else {
            continue;
        };
        if !matches!(run.status, PlanStatus::MissingData(_)) {
            continue;
        }
        let Ok(entry) = catalog::resolve(&entries, name, &run.spec.arch) else {
            continue;
        };
        if cache.usable(&entry.name).is_err() && !missing.iter().any(|m| m.name == entry.name) {
            missing.push(entry);
        }
    }
    if missing.is_empty() {
        return Ok(false);
    }
    let mirror = std::env::var(sweep_data::weights::cache::URL_ENV).ok();
    if !crate::commands::weights::pull_weights(&missing, &cache, mirror.as_deref()) {
        anyhow::bail!(
            "--pull: not every pretrained weights file could be pulled; nothing was trained"
        );
    }
    Ok(true)
}

pub(crate) fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let (exp, text) = load_experiment_to_run(&args.common)?;
    let none = HashSet::new();
    let (mut plan, store) = plan_experiment(&exp, &args.common, Adopt::Finished, &none);
    // `|`, not `||`: data and weights are both pulled.
    if args.pull && (pull_missing(&plan, &args.base_url)? | pull_missing_weights(&plan)?) {
        // Plan again: the downloaded files now have fingerprints and keys.
        (plan, _) = plan_experiment(&exp, &args.common, Adopt::Finished, &none);
    }
    record_experiment(&args.common, text, &plan, args.json);
    let mut notify = |notice: DecodeNotice| {
        if !args.json {
            eprintln!("{}", decode_notice_text(&notice));
        }
    };
    decode_pending(&mut plan, &store, args.force, &mut notify);
    sweep_core::stage_modules::stage_pending(&mut plan, &exp, &store, args.force);
    let on_slurm = args.backend == Some(Backend::Slurm);
    if on_slurm {
        // Failures of earlier array tasks are recorded before triage, so
        // `--retry-failed` decides about them as about local ones.
        let keys: Vec<RunKey> = plan.runs.iter().filter_map(|r| r.key.clone()).collect();
        if let Some(view) = slurm::status(&store, &keys) {
            plan.refresh(&store, &view.recorded);
        }
    }
    let selector = Selector::for_experiment(&args.only, &exp, plan.runs.iter().map(|r| &r.spec))
        .map_err(|e| anyhow::anyhow!("--only {e}"))?;
    let runs = labelled_runs(&plan).filter(|(r, _)| selector.matches_run(&r.spec));
    let options = TriageOptions {
        force: args.force,
        retry_failed: args.retry_failed,
    };
    let ok = if on_slurm {
        run_on_slurm(args, &exp, runs.collect(), &store, options)?
    } else {
        run_locally(args, &exp, triage(runs, &store, &options), &store)?
    };
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Keeps the experiment and its plan in `results/.experiments/`, so reports
/// and explanations work from the results folder alone
/// ([`sweep_core::recorded`]). Not being able to is not a reason to stop.
fn record_experiment(common: &Common, text: String, plan: &Plan, quiet: bool) {
    let variant = Variant {
        smoke: common.options.smoke,
        synthetic: common.options.synthetic,
    };
    let record = ExperimentRecord::new(&common.file, text, &common.options.set, variant, plan);
    if let Err(e) = record.write(&common.options.results)
        && !quiet
    {
        eprintln!(
            "note: could not record the experiment in {}: {e}",
            common.options.results.display()
        );
    }
}

/// The reporter `--json` and the terminal ask for.
fn reporter(args: &RunArgs, total: usize, settled: usize) -> Box<dyn SlurmReporter> {
    if args.json {
        Box::new(progress::json::Json)
    } else if std::io::stderr().is_terminal() && (args.backend != Some(Backend::Slurm) || args.wait)
    {
        Box::new(progress::terminal::Terminal::new(
            total as u64,
            settled as u64,
        ))
    } else {
        Box::new(progress::lines::Lines)
    }
}

/// Hands the pending runs to Slurm as one job array (`sweep_core::slurm`);
/// `true` when it went as asked.
fn run_on_slurm(
    args: &RunArgs,
    exp: &Experiment,
    runs: Vec<(&PlannedRun, String)>,
    store: &Store,
    triage: TriageOptions,
) -> anyhow::Result<bool> {
    let total = runs.len();
    let request = slurm::Request {
        experiment: &exp.name,
        runs,
        store,
        options: slurm_options(args, exp),
        triage,
        wait: args.wait,
        dependency_report: args.dependency_report,
        plan_args: plan_args(args)?,
        program: std::env::current_exe()?,
    };
    let mut reporter = reporter(args, total, 0);
    let outcome = slurm::run(&request, reporter.as_mut());
    drop(reporter);
    // The error's text already names its cause.
    let outcome = outcome.map_err(|e| anyhow::anyhow!("{e}"))?;
    if let (Some(job), false) = (&outcome.job, args.json) {
        println!("{job}");
    }
    Ok(outcome.ok)
}

/// Flags override the experiment file's `slurm:` block.
fn slurm_options(args: &RunArgs, exp: &Experiment) -> SlurmOptions {
    let file = &exp.slurm;
    SlurmOptions {
        partition: args.partition.clone().or_else(|| file.partition.clone()),
        account: args.account.clone().or_else(|| file.account.clone()),
        time: args.time.clone().or_else(|| file.time.clone()),
        gpus_per_run: args.gpus_per_run.or(file.gpus_per_run).unwrap_or(0),
        cpus_per_run: args.cpus_per_run.or(file.cpus_per_run),
        mem: args.mem.clone().or_else(|| file.mem.clone()),
        array_parallelism: args.array_parallelism.or(file.array_parallelism),
        runs_per_task: args.runs_per_task.or(file.runs_per_task).unwrap_or(1),
        sbatch_args: if args.sbatch_arg.is_empty() {
            file.sbatch_args.clone()
        } else {
            args.sbatch_arg.clone()
        },
    }
}

/// The arguments that name this plan to other `sweep` commands, with
/// absolute paths.
fn plan_args(args: &RunArgs) -> anyhow::Result<Vec<String>> {
    let absolute = |p: &Path| -> anyhow::Result<String> {
        std::path::absolute(p)?
            .into_os_string()
            .into_string()
            .map_err(|p| anyhow::anyhow!("{} is not valid UTF-8", p.display()))
    };
    let c = &args.common;
    let mut plan_args = vec![
        absolute(&c.file)?,
        "--results".into(),
        absolute(&c.options.results)?,
    ];
    if c.options.smoke {
        plan_args.push("--smoke".into());
    }
    if c.options.synthetic {
        plan_args.push("--synthetic".into());
    }
    if let Some(d) = &c.options.data_dir {
        plan_args.extend(["--data-dir".into(), absolute(d)?]);
    }
    for o in &c.options.set {
        plan_args.extend(["--set".into(), o.clone()]);
    }
    Ok(plan_args)
}

/// Where local runs train: the slots and how GPUs are packed.
fn local_slots(args: &RunArgs, exp: &Experiment) -> anyhow::Result<(Vec<Slot>, GpuPacking, u32)> {
    let devices = match &args.devices {
        Some(text) => sweep_core::spec::validate::parse_devices_text(text).ok_or_else(|| {
            anyhow::anyhow!("--devices: expected auto, cpu, cuda or cuda:0,1; got `{text}`")
        })?,
        None => exp.resources.devices.clone(),
    };
    let gpus = if devices == Devices::Cpu {
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
    Ok((slots, packing, runs_per_gpu.unwrap_or_default()))
}

/// `on 2 slots (cuda:0 …)` / `on 1 GPU, up to 4 runs each as …` /
/// `on 2 slots (cpu×1-2; the first alone on all 2 cores)` for `pending`
/// runs whose left-over ones go first on every core.
fn placement(slots: &[Slot], packing: &GpuPacking, runs_per_gpu: u32, pending: usize) -> String {
    let s = |n: usize| if n == 1 { "" } else { "s" };
    if let Some(share) = scheduler::CoreShare::of(slots) {
        let first = match share.wide_first(pending as u32) {
            0 => String::new(),
            1 => format!("; the first alone on all {} cores", share.cores),
            n => format!("; the first {n} together on all {} cores", share.cores),
        };
        return format!(
            "on {} slot{} ({}{first})",
            slots.len(),
            s(slots.len()),
            slots[0].describe()
        );
    }
    match packing {
        GpuPacking::ByMemory { readings, .. } => format!(
            "on {} GPU{}, up to {runs_per_gpu} runs each as measured memory allows",
            readings.len(),
            s(readings.len()),
        ),
        GpuPacking::Fixed => format!(
            "on {} slot{} ({})",
            slots.len(),
            s(slots.len()),
            slots.first().map_or("-".into(), |s| s.describe())
        ),
    }
}

/// Trains the triaged runs with local worker processes; `true` when every
/// run asked for is done.
fn run_locally(
    args: &RunArgs,
    exp: &Experiment,
    triage: Triage,
    store: &Store,
) -> anyhow::Result<bool> {
    let (slots, packing, runs_per_gpu) = local_slots(args, exp)?;
    // Runs another process is training go to the scheduler too: it waits
    // for them, and trains them if that process gives up.
    let mut jobs = Vec::new();
    for t in triage.to_follow() {
        if let (true, Some(key)) = (args.force, &t.run.key) {
            store.clear(key)?;
        }
        jobs.extend(Job::planned(t.run, &exp.name, t.label.clone()));
    }
    if !jobs.is_empty() {
        store.check_writable().map_err(|e| anyhow::anyhow!(e))?;
    }
    let (total, cached, skipped) = (triage.total(), triage.cached(), triage.skipped());
    if !args.json {
        eprintln!(
            "{}: {total} runs — {cached} cached, {} to train {}, {} skipped; results in {}",
            exp.name,
            jobs.len(),
            placement(&slots, &packing, runs_per_gpu, jobs.len()),
            skipped.len(),
            store.root().display()
        );
    }
    let mut reporter = reporter(args, total, cached + skipped.len());
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
    let summary = scheduler::run(
        store,
        jobs,
        slots,
        &options,
        reporter.as_mut() as &mut dyn Reporter,
    );
    drop(reporter);
    let done = cached + summary.trained.len() + summary.cached_by_other.len();
    if !args.json {
        print_local_summary(exp, store, &triage, &summary, started);
    }
    Ok(done == total)
}

/// The last lines of a local `sweep run`.
fn print_local_summary(
    exp: &Experiment,
    store: &Store,
    triage: &Triage,
    summary: &Summary,
    started: Instant,
) {
    let trained = summary.trained.len();
    let cached = triage.cached() + summary.cached_by_other.len();
    let skipped = triage.skipped();
    eprintln!(
        "{}: {}/{} runs done ({trained} trained, {cached} cached), {} failed, {} not run, in {:.1}s",
        exp.name,
        trained + cached,
        triage.total(),
        summary.failed.len() + skipped.len(),
        summary.not_run.len(),
        started.elapsed().as_secs_f64(),
    );
    // Runs failing for one reason are listed under it once.
    let trained_failures = summary.failed.iter().map(|(job, kind, message)| Failed {
        run: format!(
            "{} {} (log: {})",
            job.spec.key.short(),
            job.label,
            store
                .run_dir(&job.spec.key)
                .join(sweep_core::store::LOG_FILE)
                .display()
        ),
        reason: format!("{kind}: {message}"),
    });
    let skipped_failures = skipped.iter().map(|(label, why)| Failed {
        run: label.clone(),
        reason: why.clone(),
    });
    let failed: Vec<Failed> = trained_failures.chain(skipped_failures).collect();
    for line in failure_lines(&failed) {
        eprintln!("{line}");
    }
    if summary.interrupted {
        eprintln!("  interrupted: run the same command again to continue");
    }
}

/// One line saying that an image folder is being, or has been, decoded.
fn decode_notice_text(notice: &DecodeNotice) -> String {
    match notice {
        DecodeNotice::Decoding { def, folder } => format!(
            "{}: decoding the images in {} to {} px, {} channel{} (once; later runs reuse it)",
            def.name,
            folder.display(),
            def.size,
            def.channels,
            if def.channels == 1 { "" } else { "s" }
        ),
        DecodeNotice::Decoded { def, file, took } => format!(
            "{}: decoded in {:.1} s into {}",
            def.name,
            took.as_secs_f64(),
            file.display()
        ),
    }
}
