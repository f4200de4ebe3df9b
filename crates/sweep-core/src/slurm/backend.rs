//! `sweep run --backend slurm`: the pending part of a plan becomes one Slurm
//! job array, one `sweep worker` per run, instead of local worker processes.
//!
//! ```text
//!  plan ─ cached? ─ queued in an earlier array? ─ leased? ─▶ pending ─ Store::prepare
//!                                                                │
//!      results/.slurm/<exp>-<time>/runs.txt + job.sbatch ◀───────┘
//!                                │ sbatch --parsable --array=0-(N-1)[%K]
//!                                ▼
//!                 job.json ─▶ (--wait) poll squeue/scontrol/sacct + the store
//! ```
//!
//! The store stays the only truth about results: a run is done when its
//! `complete.json` verifies, whichever machine wrote it. Slurm states are
//! only used to tell queued from running from ended. A task that fails, is
//! cancelled or preempted leaves its run incomplete, so the next
//! `sweep run` (local or Slurm) sees it as pending and trains it again; the
//! worker's own lease and completion check make duplicated or requeued
//! tasks harmless.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use super::client::{self, TaskRow};
use super::options::SlurmOptions;
use super::record::{self, JobRecord, Submission};
use super::script::{self, ArrayScript, RUN_MARKER, shell_quote};
use crate::events::WorkerEvent;
use crate::hash::RunKey;
use crate::plan::{PlanStatus, PlannedRun};
use crate::scheduler::lease;
use crate::store::{LOG_FILE, RunStatus, SpecFile, Store};

/// One `sweep run --backend slurm`.
#[derive(Debug)]
pub struct Request<'a> {
    /// The experiment's `name`.
    pub experiment: &'a str,
    /// The runs asked for (the plan after `--only`), each with its label.
    pub runs: Vec<(&'a PlannedRun, String)>,
    pub store: &'a Store,
    pub options: SlurmOptions,
    /// Retrain runs even if cached.
    pub force: bool,
    /// Also resubmit runs whose last local attempt recorded a failure.
    pub retry_failed: bool,
    /// Block until the array has finished, then exit like a local sweep.
    pub wait: bool,
    /// Submit `sweep report … --format md` to run after the array.
    pub dependency_report: bool,
    /// The arguments that name this plan to other `sweep` commands: the
    /// experiment file and `--results`/`--smoke`/`--synthetic`/`--data-dir`,
    /// with absolute paths (used for the report job and in hints).
    pub plan_args: Vec<String>,
    /// The `sweep` binary the array tasks run (on a path the nodes see).
    pub program: PathBuf,
}

/// How many failed polls in a row end `--wait` (polls are 2 s apart for
/// the first five minutes, 10 s after).
const MAX_QUERY_ERRORS: u32 = 40;

/// What a `sweep run --backend slurm` ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Without `--wait`: the submission went through (or nothing was left
    /// to do). With it: every run asked for is done.
    pub ok: bool,
    /// The array submitted, if any.
    pub job: Option<String>,
}

/// Submits the pending runs and, with `--wait`, follows them. Human
/// progress goes to `out`.
pub fn run(req: &Request, out: &mut dyn Write) -> Result<Outcome, String> {
    req.options.validate()?;
    let started = Instant::now();
    let store_root = req.store.root();
    fs::create_dir_all(store_root)
        .map_err(|e| format!("cannot create {}: {e}", store_root.display()))?;
    let root = fs::canonicalize(store_root)
        .map_err(|e| format!("cannot resolve {}: {e}", store_root.display()))?;
    path_text(&root, "the results folder")?;
    let store = Store::new(&root);
    let program = fs::canonicalize(&req.program)
        .map_err(|e| format!("cannot resolve {}: {e}", req.program.display()))?;
    let program_text = path_text(&program, "the sweep binary")?.to_string();

    // Runs that an earlier array still holds (queued or running) are not
    // submitted twice.
    let earlier = record::load_all(&root);
    let earlier_ids: Vec<String> = earlier.iter().map(|s| s.record.job_id.clone()).collect();
    let active: HashMap<(String, Option<u32>), TaskRow> = match client::query(&earlier_ids, false) {
        Ok(rows) => rows
            .into_iter()
            .filter(TaskRow::is_active)
            .map(|r| ((r.job.clone(), r.task), r))
            .collect(),
        Err(e) => {
            if !earlier_ids.is_empty() {
                let _ = writeln!(
                    out,
                    "note: cannot see earlier Slurm jobs ({e}); submitting every pending run"
                );
            }
            HashMap::new()
        }
    };
    let queued_in = |key: &RunKey| {
        earlier.iter().rev().find_map(|s| {
            let task = s.task_of(key)?;
            active
                .contains_key(&(s.record.job_id.clone(), Some(task)))
                .then(|| Assignment {
                    job: s.record.job_id.clone(),
                    task,
                    output: s.output_file(task),
                })
        })
    };

    let mut watched: Vec<Watched> = Vec::new();
    let mut pending: Vec<usize> = Vec::new();
    let mut skipped: Vec<(String, String)> = Vec::new();
    let (mut cached, mut elsewhere, mut leased) = (0usize, 0usize, 0usize);
    for (run, label) in &req.runs {
        let (Some(key), Some(input)) = (&run.key, &run.input) else {
            if let PlanStatus::MissingData(why) = &run.status {
                skipped.push((label.clone(), format!("invalid-data: {why}")));
            }
            continue;
        };
        match &run.status {
            PlanStatus::Store(RunStatus::Done) if !req.force => {
                cached += 1;
                continue;
            }
            PlanStatus::Store(RunStatus::Failed(f)) if !req.retry_failed && !req.force => {
                skipped.push((
                    label.clone(),
                    format!(
                        "{}: {} (earlier attempt; --retry-failed to retry)",
                        f.kind, f.message
                    ),
                ));
                continue;
            }
            _ => {}
        }
        let mut item = Watched {
            key: key.clone(),
            label: label.clone(),
            assignment: None,
        };
        if !req.force {
            if let Some(a) = queued_in(key) {
                item.assignment = Some(a);
                elsewhere += 1;
                watched.push(item);
                continue;
            }
            if lease::holder(&store.run_dir(key)).is_some() {
                leased += 1;
                watched.push(item);
                continue;
            }
        }
        if req.force {
            store
                .clear(key)
                .map_err(|e| format!("cannot clear {}: {e}", store.run_dir(key).display()))?;
        }
        store
            .prepare(&SpecFile {
                key: key.clone(),
                input: input.clone(),
                data_file: run.data_file.clone(),
                experiments: vec![req.experiment.to_string()],
            })
            .map_err(|e| format!("cannot prepare {}: {e}", store.run_dir(key).display()))?;
        pending.push(watched.len());
        watched.push(item);
    }

    let total = req.runs.len();
    let per_task = req.options.runs_per_task.max(1) as usize;
    let tasks = pending.len().div_ceil(per_task);
    let each = per_task.min(pending.len());
    let mut parts = vec![format!("{cached} cached")];
    if !pending.is_empty() {
        parts.push(format!(
            "{} to train as a Slurm job array ({tasks} task{}, {each} run{} each)",
            pending.len(),
            plural(tasks),
            plural(each)
        ));
    }
    if elsewhere > 0 {
        parts.push(format!("{elsewhere} already queued in an earlier array"));
    }
    if leased > 0 {
        parts.push(format!("{leased} being trained by another process"));
    }
    parts.push(format!("{} skipped", skipped.len()));
    let _ = writeln!(
        out,
        "{}: {total} runs — {}; results in {}",
        req.experiment,
        parts.join(", "),
        root.display()
    );

    let mut jobs: Vec<String> = Vec::new();
    for w in &watched {
        if let Some(a) = &w.assignment
            && !jobs.contains(&a.job)
        {
            jobs.push(a.job.clone());
        }
    }
    let mut report_file = None;
    let mut report_job = None;
    let mut submitted = None;
    if !pending.is_empty() {
        let sub = submit(req, &root, &program_text, &watched, &pending, out)?;
        for (task, chunk) in pending.chunks(per_task).enumerate() {
            for &i in chunk {
                watched[i].assignment = Some(Assignment {
                    job: sub.record.job_id.clone(),
                    task: task as u32,
                    output: sub.output_file(task as u32),
                });
            }
        }
        let job = &sub.record.job_id;
        let _ = writeln!(
            out,
            "submitted Slurm job {job} (array {}) for {} run{}; batch script, run list and task output in {}",
            sub.record.array,
            pending.len(),
            plural(pending.len()),
            sub.dir.display()
        );
        let plan_args = quoted_args(&req.plan_args);
        let _ = writeln!(
            out,
            "  follow: squeue -j {job}   or   sweep status {plan_args}"
        );
        let _ = writeln!(out, "  cancel: sweep cancel {plan_args}");
        if let Some(rid) = &sub.record.report_job_id {
            let path = sub.dir.join(record::REPORT_FILE);
            let _ = writeln!(
                out,
                "  report: job {rid} writes {} when the array has ended",
                path.display()
            );
            report_file = Some(path);
            report_job = Some(rid.clone());
        }
        jobs.insert(0, job.clone());
        jobs.extend(sub.record.report_job_id.clone());
        submitted = Some(job.clone());
    }

    if !req.wait {
        if pending.is_empty() {
            let done = cached;
            if elsewhere + leased > 0 {
                let _ = writeln!(
                    out,
                    "{}: nothing new to submit; {} runs are queued or training already (see `sweep status {}`)",
                    req.experiment,
                    elsewhere + leased,
                    quoted_args(&req.plan_args)
                );
            } else {
                let _ = writeln!(
                    out,
                    "{}: nothing to submit; {done}/{total} runs done",
                    req.experiment
                );
            }
            for (label, why) in &skipped {
                let _ = writeln!(out, "  failed: {label}: {why}");
            }
            return Ok(Outcome {
                ok: elsewhere + leased > 0 || done == total,
                job: None,
            });
        }
        return Ok(Outcome {
            ok: true,
            job: submitted,
        });
    }

    if !jobs.is_empty() || leased > 0 {
        let what = if jobs.is_empty() {
            format!("{leased} run{} another process is training", plural(leased))
        } else {
            format!("Slurm job{} {}", plural(jobs.len()), jobs.join(", "))
        };
        let _ = writeln!(
            out,
            "waiting for {what} (Ctrl-C stops waiting; the jobs keep running)"
        );
        follow(
            &store,
            &watched,
            &jobs,
            report_job.as_deref(),
            req.experiment,
            out,
        )?;
    }

    // The final word, from the store.
    let done_now: usize = watched
        .iter()
        .filter(|w| store.status(&w.key) == RunStatus::Done)
        .count();
    let done = cached + done_now;
    let failed: Vec<&Watched> = watched
        .iter()
        .filter(|w| store.status(&w.key) != RunStatus::Done)
        .collect();
    let _ = writeln!(
        out,
        "{}: {done}/{total} runs done ({done_now} trained on Slurm, {cached} cached), {} failed, in {:.1}s",
        req.experiment,
        failed.len() + skipped.len(),
        started.elapsed().as_secs_f64()
    );
    let final_rows: HashMap<(String, Option<u32>), TaskRow> = client::query(&jobs, true)
        .unwrap_or_default()
        .into_iter()
        .map(|r| ((r.job.clone(), r.task), r))
        .collect();
    for w in &failed {
        let _ = writeln!(
            out,
            "  failed: {}",
            describe_failure(&store, w, &final_rows)
        );
    }
    for (label, why) in &skipped {
        let _ = writeln!(out, "  failed: {label}: {why}");
    }
    if !failed.is_empty() {
        let _ = writeln!(
            out,
            "  run the same command again to resubmit the runs that are not done"
        );
    }
    if let Some(path) = report_file {
        if fs::metadata(&path).is_ok_and(|m| m.len() > 0) {
            let _ = writeln!(out, "report: {}", path.display());
        } else {
            let _ = writeln!(
                out,
                "report: {} was not written (see report-*.out beside it)",
                path.display()
            );
        }
    }
    Ok(Outcome {
        ok: done == total,
        job: submitted,
    })
}

/// A run this command looks after, and where Slurm trains it.
#[derive(Debug, Clone)]
struct Watched {
    key: RunKey,
    label: String,
    assignment: Option<Assignment>,
}

#[derive(Debug, Clone)]
struct Assignment {
    job: String,
    task: u32,
    output: PathBuf,
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The path as UTF-8 text that can go on one line of `runs.txt` and into
/// Slurm's `--output` pattern.
fn path_text<'p>(path: &'p Path, what: &str) -> Result<&'p str, String> {
    let text = path
        .to_str()
        .ok_or_else(|| format!("{what} {} is not valid UTF-8", path.display()))?;
    if text.contains(['\n', '\r', '\\']) {
        return Err(format!(
            "{what} {text:?} contains a newline or backslash, which Slurm's file names cannot carry"
        ));
    }
    Ok(text)
}

/// Arguments as one could type them again.
fn quoted_args(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/._-=:,+@".contains(c))
            {
                a.clone()
            } else {
                shell_quote(a)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes the submission folder and hands the array (and the report job)
/// to `sbatch`.
fn submit(
    req: &Request,
    root: &Path,
    program: &str,
    watched: &[Watched],
    pending: &[usize],
    out: &mut dyn Write,
) -> Result<Submission, String> {
    let opts = &req.options;
    if !client::on_path("sbatch") {
        return Err(
            "sbatch not found on PATH: submit from a machine with the Slurm client commands".into(),
        );
    }
    let dir = record::create_folder(root, req.experiment, SystemTime::now())
        .map_err(|e| format!("cannot create the submission folder: {e}"))?;
    let dir_text = path_text(&dir, "the submission folder")?.to_string();
    let keys: Vec<RunKey> = pending.iter().map(|&i| watched[i].key.clone()).collect();
    let mut list = String::new();
    for key in &keys {
        list.push_str(path_text(&root.join(key.as_str()), "a run folder")?);
        list.push('\n');
    }
    let runs_file = dir.join(record::RUNS_FILE);
    let script_file = dir.join(record::SCRIPT_FILE);
    let write = |path: &Path, text: &str| {
        fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write(&runs_file, &list)?;
    let job_name = format!("sweep-{}", record::sanitize(req.experiment));
    let directives = opts.directives();
    write(
        &script_file,
        &script::array_script(&ArrayScript {
            job_name: &job_name,
            directives: &directives,
            program,
            runs_file: path_text(&runs_file, "the run list")?,
            runs_per_task: opts.runs_per_task,
            gpus_per_run: opts.gpus_per_run,
            cpus_per_run: opts.cpus_per_run,
        }),
    )?;
    let per_task = opts.runs_per_task.max(1) as usize;
    let tasks: Vec<Vec<RunKey>> = keys.chunks(per_task).map(<[RunKey]>::to_vec).collect();
    let array = opts.array_spec(tasks.len());
    let mut argv = vec![
        "--parsable".to_string(),
        format!("--array={array}"),
        format!("--output={}", record::output_pattern(&dir_text)),
        format!("--chdir={dir_text}"),
    ];
    argv.extend(opts.sbatch_args.iter().cloned());
    argv.push(path_text(&script_file, "the batch script")?.to_string());
    let (job_id, cluster) =
        client::sbatch(&argv).map_err(|e| format!("{e} (files left in {dir_text})"))?;
    let mut sbatch = vec!["sbatch".to_string()];
    sbatch.extend(argv);

    let mut record = JobRecord {
        experiment: req.experiment.to_string(),
        job_id,
        cluster,
        submitted_at: record::rfc3339(SystemTime::now()),
        runs_per_task: opts.runs_per_task.max(1),
        array,
        tasks,
        sbatch,
        report_job_id: None,
        options: opts.clone(),
    };
    // Record the array before anything else can fail: it is running now.
    record::save(&dir, &record).map_err(|e| {
        format!(
            "job {} was submitted but {} could not be written: {e}",
            record.job_id,
            dir.join(record::RECORD_FILE).display()
        )
    })?;
    if req.dependency_report {
        match submit_report(req, &dir, &dir_text, program, &job_name, &record.job_id) {
            Ok(id) => {
                record.report_job_id = Some(id);
                record::save(&dir, &record)
                    .map_err(|e| format!("cannot update the job record: {e}"))?;
            }
            Err(e) => {
                let _ = writeln!(out, "warning: the report job was not submitted: {e}");
            }
        }
    }
    Ok(Submission { dir, record })
}

fn submit_report(
    req: &Request,
    dir: &Path,
    dir_text: &str,
    program: &str,
    job_name: &str,
    after: &str,
) -> Result<String, String> {
    let opts = SlurmOptions {
        gpus_per_run: 0,
        cpus_per_run: Some(1),
        array_parallelism: None,
        runs_per_task: 1,
        ..req.options.clone()
    };
    let mut args = vec!["report".to_string()];
    args.extend(req.plan_args.iter().cloned());
    args.extend(["--format".to_string(), "md".to_string()]);
    let script_file = dir.join(record::REPORT_SCRIPT_FILE);
    let text = script::report_script(
        &format!("{job_name}-report"),
        &opts.directives(),
        program,
        &args,
        &format!("{dir_text}/{}", record::REPORT_FILE),
    );
    fs::write(&script_file, text)
        .map_err(|e| format!("cannot write {}: {e}", script_file.display()))?;
    let mut argv = vec![
        "--parsable".to_string(),
        format!("--dependency=afterany:{after}"),
        format!("--output={}/report-%j.out", dir_text.replace('%', "%%")),
        format!("--chdir={dir_text}"),
    ];
    argv.extend(req.options.sbatch_args.iter().cloned());
    argv.push(format!("{dir_text}/{}", record::REPORT_SCRIPT_FILE));
    client::sbatch(&argv).map(|(id, _)| id)
}

/// What `--wait` shows: runs by where they stand.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    done: usize,
    running: usize,
    queued: usize,
    ended: usize,
}

/// Polls until every watched run is done, or nothing can change any more
/// (no job active, no lease held).
fn follow(
    store: &Store,
    watched: &[Watched],
    jobs: &[String],
    report_job: Option<&str>,
    experiment: &str,
    out: &mut dyn Write,
) -> Result<(), String> {
    let started = Instant::now();
    let mut errors = 0u32;
    let mut last: Option<(Counts, Instant)> = None;
    loop {
        let states: Option<HashMap<(String, Option<u32>), TaskRow>> = match client::query(
            jobs, false,
        ) {
            Ok(rows) => {
                errors = 0;
                Some(
                    rows.into_iter()
                        .map(|r| ((r.job.clone(), r.task), r))
                        .collect(),
                )
            }
            Err(e) => {
                errors += 1;
                if errors >= MAX_QUERY_ERRORS {
                    return Err(format!(
                        "stopped waiting: cannot query Slurm ({e}); the jobs may still run, see `sweep status`"
                    ));
                }
                None
            }
        };
        let mut counts = Counts::default();
        let mut leased = false;
        for w in watched {
            if store.status(&w.key) == RunStatus::Done {
                counts.done += 1;
                continue;
            }
            let holder = lease::holder(&store.run_dir(&w.key)).is_some();
            leased |= holder;
            let row = match (&states, &w.assignment) {
                (Some(s), Some(a)) => s.get(&(a.job.clone(), Some(a.task))),
                _ => None,
            };
            match row {
                _ if holder => counts.running += 1,
                Some(r) if matches!(r.state.as_str(), "RUNNING" | "COMPLETING" | "CONFIGURING") => {
                    counts.running += 1
                }
                Some(r) if r.is_active() => counts.queued += 1,
                None if states.is_none() => counts.queued += 1,
                _ => counts.ended += 1,
            }
        }
        let report_active = match (&states, report_job) {
            (Some(s), Some(id)) => s
                .get(&(id.to_string(), None))
                .is_some_and(TaskRow::is_active),
            (None, Some(_)) => true,
            _ => false,
        };
        let any_active = match &states {
            Some(s) => s.values().any(TaskRow::is_active),
            None => true,
        };
        let changed = last
            .as_ref()
            .is_none_or(|(c, at)| *c != counts || at.elapsed() >= Duration::from_secs(60));
        if changed {
            let _ = writeln!(
                out,
                "{experiment}: {}/{} done, {} running, {} queued, {} ended without a result [{:.0}s]",
                counts.done,
                watched.len(),
                counts.running,
                counts.queued,
                counts.ended,
                started.elapsed().as_secs_f64()
            );
            last = Some((counts, Instant::now()));
        }
        let all_done = last.as_ref().is_some_and(|(c, _)| c.done == watched.len());
        if (all_done && !report_active) || (!any_active && !leased) {
            return Ok(());
        }
        let pause = if started.elapsed() < Duration::from_secs(300) {
            Duration::from_secs(2)
        } else {
            Duration::from_secs(10)
        };
        std::thread::sleep(pause);
    }
}

/// One line on a run that did not finish: its Slurm state and, when the
/// worker said why, its reason.
fn describe_failure(
    store: &Store,
    w: &Watched,
    rows: &HashMap<(String, Option<u32>), TaskRow>,
) -> String {
    let dir = store.run_dir(&w.key);
    let log = dir.join(LOG_FILE);
    let Some(a) = &w.assignment else {
        return format!(
            "{} {}: was being trained by another process (log: {})",
            w.key.short(),
            w.label,
            log.display()
        );
    };
    let state = rows.get(&(a.job.clone(), Some(a.task))).map_or(
        "no longer known to Slurm".to_string(),
        |r| {
            if r.reason.is_empty() || r.reason == "None" {
                r.state.clone()
            } else {
                format!("{} ({})", r.state, r.reason)
            }
        },
    );
    let why = last_failure(&a.output, &dir)
        .map(|(kind, msg)| format!(": {kind}: {msg}"))
        .unwrap_or_default();
    format!(
        "{} {}: Slurm task {}_{} {state}{why} (log: {}; task output: {})",
        w.key.short(),
        w.label,
        a.job,
        a.task,
        log.display(),
        a.output.display()
    )
}

/// The last `failed` event the worker of `run_dir` printed into a task's
/// output file.
fn last_failure(output: &Path, run_dir: &Path) -> Option<(String, String)> {
    let text = fs::read_to_string(output).ok()?;
    let marker = format!("{RUN_MARKER}{}", run_dir.display());
    let mut inside = false;
    let mut found = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(RUN_MARKER) {
            inside = format!("{RUN_MARKER}{rest}") == marker;
            continue;
        }
        if inside && let Some(WorkerEvent::Failed { kind, message }) = WorkerEvent::from_line(line)
        {
            found = Some((kind.to_string(), message));
        }
    }
    found
}

/// Where Slurm stands on one run, for `sweep status`.
#[derive(Debug, Clone)]
pub struct RunView {
    pub job: String,
    pub task: u32,
    /// `None` when the cluster no longer knows the task.
    pub row: Option<TaskRow>,
    /// The worker's own `failed` event (kind, message), read from the task's
    /// output once the task has ended.
    pub failure: Option<(String, String)>,
}

/// One recorded array that holds runs of the plan.
#[derive(Debug, Clone)]
pub struct JobView {
    pub job: String,
    pub submitted_at: String,
    pub dir: PathBuf,
    pub tasks: usize,
    /// Tasks by state; `UNKNOWN` for tasks the cluster no longer lists.
    pub states: BTreeMap<String, usize>,
    pub report: Option<(String, Option<String>)>,
}

/// What `sweep status` adds when runs were submitted to Slurm.
#[derive(Debug, Clone, Default)]
pub struct StatusView {
    /// The latest submission of each run key.
    pub runs: HashMap<RunKey, RunView>,
    pub jobs: Vec<JobView>,
    /// Why the states could not be learnt (no squeue, controller down).
    pub error: Option<String>,
}

/// Looks up the recorded arrays that hold any of `keys`, and their states.
/// `None` when no run of `keys` was ever submitted to Slurm.
pub fn status(results_root: &Path, keys: &[RunKey]) -> Option<StatusView> {
    let subs: Vec<Submission> = record::load_all(results_root)
        .into_iter()
        .filter(|s| s.has_any(keys.iter()))
        .collect();
    if subs.is_empty() {
        return None;
    }
    // Task outputs name run folders by absolute path.
    let results_root =
        fs::canonicalize(results_root).unwrap_or_else(|_| results_root.to_path_buf());
    let ids: Vec<String> = subs.iter().flat_map(Submission::job_ids).collect();
    let mut view = StatusView::default();
    let rows: HashMap<(String, Option<u32>), TaskRow> = match client::query(&ids, true) {
        Ok(rows) => rows
            .into_iter()
            .map(|r| ((r.job.clone(), r.task), r))
            .collect(),
        Err(e) => {
            view.error = Some(e);
            HashMap::new()
        }
    };
    let known = view.error.is_none();
    for s in &subs {
        let job = &s.record.job_id;
        let mut states = BTreeMap::new();
        for task in 0..s.record.tasks.len() as u32 {
            let state = rows
                .get(&(job.clone(), Some(task)))
                .map_or("UNKNOWN".to_string(), |r| r.state.clone());
            *states.entry(state).or_insert(0) += 1;
        }
        view.jobs.push(JobView {
            job: job.clone(),
            submitted_at: s.record.submitted_at.clone(),
            dir: s.dir.clone(),
            tasks: s.record.tasks.len(),
            states,
            report: s.record.report_job_id.as_ref().map(|id| {
                (
                    id.clone(),
                    rows.get(&(id.clone(), None)).map(|r| r.state.clone()),
                )
            }),
        });
        for key in keys {
            if let Some(task) = s.task_of(key) {
                // Later submissions overwrite earlier ones.
                let row = rows.get(&(job.clone(), Some(task))).cloned();
                let failure = match &row {
                    Some(r) if !r.is_active() => {
                        last_failure(&s.output_file(task), &results_root.join(key.as_str()))
                    }
                    _ => None,
                };
                view.runs.insert(
                    key.clone(),
                    RunView {
                        job: job.clone(),
                        task,
                        row,
                        failure,
                    },
                );
            }
        }
    }
    if !known {
        for r in view.runs.values_mut() {
            r.row = None;
        }
    }
    Some(view)
}

/// Cancels the recorded arrays (and report jobs) that hold any of `keys`
/// and are still queued or running: the same arrays `sweep status` shows.
/// Returns the job ids cancelled.
pub fn cancel(results_root: &Path, keys: &[RunKey]) -> Result<Vec<String>, String> {
    let ids: Vec<String> = record::load_all(results_root)
        .iter()
        .filter(|s| s.has_any(keys.iter()))
        .flat_map(Submission::job_ids)
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let targets: Vec<String> = match client::query(&ids, false) {
        Ok(rows) => {
            let mut t: Vec<String> = Vec::new();
            for r in rows.iter().filter(|r| r.is_active()) {
                if !t.contains(&r.job) {
                    t.push(r.job.clone());
                }
            }
            t
        }
        // Cannot tell which are still alive: ask scancel to cancel them all.
        Err(_) => ids,
    };
    if !targets.is_empty() {
        client::scancel(&targets)?;
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failure_of_the_right_run_is_found_in_a_shared_output() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("task.out");
        let failed = |m: &str| {
            WorkerEvent::Failed {
                kind: crate::store::FailureKind::Diverged,
                message: m.into(),
            }
            .to_line()
        };
        fs::write(
            &out,
            format!(
                "sweep-slurm: task 5_0 on n1 CUDA_VISIBLE_DEVICES= runs=2\n\
                 {RUN_MARKER}/r/aa\n{}\nsweep-slurm: worker exit 1\n\
                 {RUN_MARKER}/r/aab\n{}\n",
                failed("loss is NaN at epoch 2"),
                failed("other run")
            ),
        )
        .unwrap();
        assert_eq!(
            last_failure(&out, Path::new("/r/aa")),
            Some(("diverged".into(), "loss is NaN at epoch 2".into()))
        );
        assert_eq!(
            last_failure(&out, Path::new("/r/aab")).unwrap().1,
            "other run"
        );
        assert_eq!(last_failure(&out, Path::new("/r/x")), None);
    }

    #[test]
    fn hints_quote_only_what_needs_it() {
        assert_eq!(
            quoted_args(&["/a/x.yaml".into(), "--results".into(), "/my dir".into()]),
            "/a/x.yaml --results '/my dir'"
        );
        assert!(path_text(Path::new("/a\nb"), "x").is_err());
        assert!(path_text(Path::new("/a b"), "x").is_ok());
    }
}
