//! The human text of the Slurm-only events of `sweep run --backend slurm`
//! (submission, queue tallies, the final summary), shared by the terminal
//! and plain-line reporters so both read the same.

use sweep_core::protocol::events::{SkippedRun, SlurmEvent};

use super::failures::{Failed, failure_lines};

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// One line per run, or per reason shared by several runs.
fn failed_lines(runs: &[SkippedRun]) -> impl Iterator<Item = String> + '_ {
    let failed: Vec<Failed> = runs
        .iter()
        .map(|r| Failed {
            run: r.run.clone(),
            reason: r.reason.clone(),
        })
        .collect();
    failure_lines(&failed).into_iter()
}

/// The lines an event prints, in order.
pub(crate) fn lines(event: &SlurmEvent) -> Vec<String> {
    match event {
        SlurmEvent::SlurmPlanned {
            experiment,
            total,
            cached,
            to_submit,
            tasks,
            runs_per_task,
            queued_earlier,
            leased,
            skipped,
            results,
        } => {
            let mut parts = vec![format!("{cached} cached")];
            if *to_submit > 0 {
                parts.push(format!(
                    "{to_submit} to train as a Slurm job array ({tasks} task{}, {runs_per_task} run{} each)",
                    plural(*tasks),
                    plural(*runs_per_task)
                ));
            }
            if *queued_earlier > 0 {
                parts.push(format!(
                    "{queued_earlier} already queued in an earlier array"
                ));
            }
            if *leased > 0 {
                parts.push(format!("{leased} being trained by another process"));
            }
            parts.push(format!("{} skipped", skipped.len()));
            vec![format!(
                "{experiment}: {total} runs — {}; results in {}",
                parts.join(", "),
                results.display()
            )]
        }
        SlurmEvent::SlurmEarlierUnknown { message } => vec![format!(
            "note: cannot see earlier Slurm jobs ({message}); submitting every pending run"
        )],
        SlurmEvent::SlurmSubmitted {
            job,
            array,
            runs,
            dir,
            plan_args,
            report_job,
            report_file,
        } => {
            let mut out = vec![
                format!(
                    "submitted Slurm job {job} (array {array}) for {runs} run{}; batch script, run list and task output in {}",
                    plural(*runs),
                    dir.display()
                ),
                format!("  follow: squeue -j {job}   or   sweep status {plan_args}"),
                format!("  cancel: sweep cancel {plan_args}"),
            ];
            if let (Some(id), Some(path)) = (report_job, report_file) {
                out.push(format!(
                    "  report: job {id} writes {} when the array has ended",
                    path.display()
                ));
            }
            out
        }
        SlurmEvent::SlurmReportNotSubmitted { message } => {
            vec![format!(
                "warning: the report job was not submitted: {message}"
            )]
        }
        SlurmEvent::SlurmNothingToSubmit {
            experiment,
            total,
            done,
            in_progress,
            plan_args,
            skipped,
        } => {
            let first = if *in_progress > 0 {
                format!(
                    "{experiment}: nothing new to submit; {in_progress} runs are queued or training already (see `sweep status {plan_args}`)"
                )
            } else {
                format!("{experiment}: nothing to submit; {done}/{total} runs done")
            };
            std::iter::once(first)
                .chain(failed_lines(skipped))
                .collect()
        }
        SlurmEvent::SlurmWaiting { jobs, leased } => {
            let what = if jobs.is_empty() {
                format!(
                    "{leased} run{} another process is training",
                    plural(*leased)
                )
            } else {
                format!("Slurm job{} {}", plural(jobs.len()), jobs.join(", "))
            };
            vec![format!(
                "waiting for {what} (Ctrl-C stops waiting; the jobs keep running)"
            )]
        }
        SlurmEvent::SlurmTally {
            experiment,
            done,
            total,
            running,
            queued,
            ended,
            seconds,
        } => vec![format!(
            "{experiment}: {done}/{total} done, {running} running, {queued} queued, {ended} ended without a result [{seconds:.0}s]"
        )],
        SlurmEvent::SlurmFinished { .. } => finished_lines(event),
    }
}

fn finished_lines(event: &SlurmEvent) -> Vec<String> {
    let SlurmEvent::SlurmFinished {
        experiment,
        total,
        done,
        trained,
        cached,
        failed,
        skipped,
        seconds,
        report,
    } = event
    else {
        return Vec::new();
    };
    let mut out = vec![format!(
        "{experiment}: {done}/{total} runs done ({trained} trained on Slurm, {cached} cached), {} failed, in {seconds:.1}s",
        failed.len() + skipped.len()
    )];
    out.extend(failed_lines(failed));
    out.extend(failed_lines(skipped));
    if !failed.is_empty() {
        out.push(
            "  run the same command again to resubmit the runs that are not done (add --retry-failed for those that failed)"
                .into(),
        );
    }
    match report {
        Some((path, true)) => out.push(format!("report: {}", path.display())),
        Some((path, false)) => out.push(format!(
            "report: {} was not written (see report-*.out beside it)",
            path.display()
        )),
        None => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_line_names_only_what_is_there() {
        let event = SlurmEvent::SlurmPlanned {
            experiment: "smoke".into(),
            total: 4,
            cached: 1,
            to_submit: 3,
            tasks: 2,
            runs_per_task: 2,
            queued_earlier: 0,
            leased: 1,
            skipped: Vec::new(),
            results: "/r".into(),
        };
        assert_eq!(
            lines(&event),
            [
                "smoke: 4 runs — 1 cached, 3 to train as a Slurm job array (2 tasks, 2 runs each), \
                 1 being trained by another process, 0 skipped; results in /r"
            ]
        );
    }

    #[test]
    fn the_summary_lists_failures_and_the_report() {
        let event = SlurmEvent::SlurmFinished {
            experiment: "smoke".into(),
            total: 2,
            done: 1,
            trained: 1,
            cached: 0,
            failed: vec![SkippedRun {
                run: "abc x".into(),
                reason: "Slurm task 5_1 FAILED".into(),
            }],
            skipped: Vec::new(),
            seconds: 3.04,
            report: Some(("/r/report.md".into(), false)),
        };
        let text = lines(&event);
        assert_eq!(
            text[0],
            "smoke: 1/2 runs done (1 trained on Slurm, 0 cached), 1 failed, in 3.0s"
        );
        assert_eq!(text[1], "  failed: abc x: Slurm task 5_1 FAILED");
        assert!(text[3].contains("was not written"), "{text:?}");
    }
}
