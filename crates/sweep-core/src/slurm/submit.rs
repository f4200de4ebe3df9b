//! Submission: which runs of the plan go into a new job array, and handing
//! that array (and the optional report job) to `sbatch`.
//!
//! Runs are chosen by the shared [`crate::triage`], then those an earlier
//! array still holds (queued or running) are followed rather than
//! submitted twice. The run folders are prepared (`spec.json`) before the
//! array exists, and its record (`job.json`) is written as soon as
//! `sbatch` accepted it, so every recorded job is a real one.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::backend::{Request, SlurmReporter};
use super::client::{self, TaskRow};
use super::error::SlurmError;
use super::follow::{Assignment, Watched};
use super::record::{self, JobRecord, Submission};
use super::resources::SlurmOptions;
use super::script::{self, ArrayScript, shell_quote};
use crate::hash::RunKey;
use crate::protocol::events::{SkippedRun, SlurmEvent};
use crate::store::{SpecFile, Store};
use crate::triage::{Verdict, triage};

/// The runs one `sweep run --backend slurm` looks after.
#[derive(Debug, Default)]
pub struct Selection {
    /// Every run to follow: to submit, queued earlier, or leased elsewhere.
    pub watched: Vec<Watched>,
    /// Indexes into `watched` of the runs to submit, in plan order.
    pub pending: Vec<usize>,
    pub cached: usize,
    /// Runs an earlier array still holds.
    pub queued_earlier: usize,
    /// Runs another process is training.
    pub leased: usize,
    pub skipped: Vec<SkippedRun>,
}

/// Triages the runs asked for, finds those earlier arrays hold, and
/// prepares the folders of the rest (clearing them first with `--force`).
pub fn select(
    req: &Request,
    store: &Store,
    reporter: &mut dyn SlurmReporter,
) -> Result<Selection, SlurmError> {
    let queued_in = earlier_assignments(store.root(), reporter);
    let triage = triage(
        req.runs.iter().map(|(run, label)| (*run, label.clone())),
        store,
        &req.triage,
    );
    let mut s = Selection::default();
    for t in &triage.runs {
        let elsewhere = match &t.verdict {
            Verdict::Cached => {
                s.cached += 1;
                continue;
            }
            Verdict::NoData(_) | Verdict::Failed { .. } => {
                let reason = t.verdict.skip_message().unwrap_or_default();
                s.skipped.push(SkippedRun {
                    run: t.label.clone(),
                    reason,
                });
                continue;
            }
            Verdict::Elsewhere { .. } => true,
            Verdict::Pending => false,
        };
        let (Some(key), Some(input)) = (&t.run.key, &t.run.input) else {
            continue;
        };
        let mut item = Watched {
            key: key.clone(),
            label: t.label.clone(),
            assignment: None,
        };
        if !req.triage.force
            && let Some(a) = queued_in(key)
        {
            item.assignment = Some(a);
            s.queued_earlier += 1;
        } else if elsewhere {
            s.leased += 1;
        } else {
            prepare(req, store, key, input, t.run.data_file.clone(), &t.label)?;
            s.pending.push(s.watched.len());
        }
        s.watched.push(item);
    }
    Ok(s)
}

/// Writes the run folder's `spec.json` (after removing the folder with
/// `--force`).
fn prepare(
    req: &Request,
    store: &Store,
    key: &RunKey,
    input: &crate::hash::KeyInput,
    data_file: Option<PathBuf>,
    label: &str,
) -> Result<(), SlurmError> {
    let fail = |action, e: &dyn std::fmt::Display| SlurmError::Store {
        action,
        path: store.run_dir(key),
        message: e.to_string(),
    };
    if req.triage.force {
        store.clear(key).map_err(|e| fail("clear", &e))?;
    }
    store
        .prepare(&SpecFile {
            key: key.clone(),
            input: input.clone(),
            data_file,
            experiments: vec![req.experiment.to_string()],
            label: Some(label.to_string()),
            workdir: input.run.worker.as_ref().and_then(|w| w.folder.clone()),
        })
        .map_err(|e| fail("prepare", &e))?;
    Ok(())
}

/// Looks up, for a run key, the task of the latest earlier array that still
/// holds it (queued or running).
fn earlier_assignments(
    root: &Path,
    reporter: &mut dyn SlurmReporter,
) -> impl Fn(&RunKey) -> Option<Assignment> {
    let earlier = record::load_all(root);
    let ids: Vec<String> = earlier.iter().map(|s| s.record.job_id.clone()).collect();
    let active: HashSet<(String, Option<u32>)> = match client::query(&ids, false) {
        Ok(rows) => rows
            .into_iter()
            .filter(TaskRow::is_active)
            .map(|r| (r.job, r.task))
            .collect(),
        Err(e) => {
            if !ids.is_empty() {
                reporter.slurm(&SlurmEvent::SlurmEarlierUnknown {
                    message: e.to_string(),
                });
            }
            HashSet::new()
        }
    };
    move |key: &RunKey| {
        earlier.iter().rev().find_map(|s| {
            let task = s.task_of(key)?;
            active
                .contains(&(s.record.job_id.clone(), Some(task)))
                .then(|| Assignment {
                    job: s.record.job_id.clone(),
                    task,
                    output: s.output_file(task),
                })
        })
    }
}

/// The path as UTF-8 text that can go on one line of `runs.txt` and into
/// Slurm's `--output` pattern.
pub fn path_text<'p>(path: &'p Path, what: &'static str) -> Result<&'p str, SlurmError> {
    let unusable = |problem| SlurmError::UnusablePath {
        what,
        path: path.to_path_buf(),
        problem,
    };
    let text = path
        .to_str()
        .ok_or_else(|| unusable("is not valid UTF-8"))?;
    if text.contains(['\n', '\r', '\\']) {
        return Err(unusable(
            "contains a newline or backslash, which Slurm's file names cannot carry",
        ));
    }
    Ok(text)
}

/// Arguments as one could type them again.
pub fn quoted_args(args: &[String]) -> String {
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

/// Writes the batch script or run list whole (a crash never leaves a
/// half-written file for a later submission to pick up).
fn write(path: &Path, text: &str) -> Result<(), SlurmError> {
    sweep_data::atomic::write_atomic(path, text.as_bytes()).map_err(|source| SlurmError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    })
}

/// Writes the submission folder and hands the array of `keys` (and the
/// report job) to `sbatch`.
pub fn submit(
    req: &Request,
    root: &Path,
    program: &str,
    keys: &[RunKey],
    reporter: &mut dyn SlurmReporter,
) -> Result<Submission, SlurmError> {
    let opts = &req.options;
    if !client::on_path("sbatch") {
        return Err(SlurmError::NotInstalled {
            program: "sbatch",
            hint: "submit from a machine with the Slurm client commands",
        });
    }
    let dir = record::create_folder(root, req.experiment, SystemTime::now()).map_err(|source| {
        SlurmError::Io {
            action: "create the submission folder in",
            path: root.join(record::SLURM_DIR),
            source,
        }
    })?;
    let dir_text = path_text(&dir, "the submission folder")?.to_string();
    let mut list = String::new();
    for key in keys {
        list.push_str(path_text(&root.join(key.as_str()), "a run folder")?);
        list.push('\n');
    }
    let runs_file = dir.join(record::RUNS_FILE);
    let script_file = dir.join(record::SCRIPT_FILE);
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
    let (job_id, cluster) = client::sbatch(&argv).map_err(|e| SlurmError::NotSubmitted {
        dir: dir.clone(),
        source: Box::new(e),
    })?;
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
    save(&dir, &record)?;
    if req.dependency_report {
        match submit_report(req, &dir, &dir_text, program, &job_name, &record.job_id) {
            Ok(id) => {
                record.report_job_id = Some(id);
                save(&dir, &record)?;
            }
            Err(e) => reporter.slurm(&SlurmEvent::SlurmReportNotSubmitted {
                message: e.to_string(),
            }),
        }
    }
    Ok(Submission { dir, record })
}

fn save(dir: &Path, record: &JobRecord) -> Result<(), SlurmError> {
    record::save(dir, record).map_err(|source| SlurmError::Unrecorded {
        job: record.job_id.clone(),
        path: dir.join(record::RECORD_FILE),
        source,
    })
}

fn submit_report(
    req: &Request,
    dir: &Path,
    dir_text: &str,
    program: &str,
    job_name: &str,
    after: &str,
) -> Result<String, SlurmError> {
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
    let text = script::report_script(
        &format!("{job_name}-report"),
        &opts.directives(),
        program,
        &args,
        &format!("{dir_text}/{}", record::REPORT_FILE),
    );
    write(&dir.join(record::REPORT_SCRIPT_FILE), &text)?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
