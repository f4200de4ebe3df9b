//! The failure lines at the end of a sweep, one per distinct reason.
//!
//! Runs often fail for one shared cause: every run of a dataset whose file
//! is missing carries the same advice (`sweep data pull chestmnist`), every
//! run of an architecture that does not fit the same error. Printing the
//! reason once per run buries the runs under repeated text, so runs with the
//! same reason are printed under it once, with their count:
//!
//! ```text
//!   failed: a1b2c3 chestmnist chest_cnn lr=0.001 fold 1/5 seed 0: crashed: exit 3
//!   failed (4 runs): invalid-data: no file chestmnist.npz; `sweep data pull chestmnist`
//!     chestmnist chest_cnn lr=0.001 class_weighting=none fold official seed 0
//!     …
//! ```
//!
//! Groups keep the order of their first run; at most [`LISTED`] runs are
//! named per group, the rest counted (`sweep status` lists every run).

/// Runs named under one reason before the rest are only counted.
pub(crate) const LISTED: usize = 10;

/// One failed run: who it is (key, label, log) and why it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failed {
    pub run: String,
    pub reason: String,
}

/// The lines for `failed`, grouped by identical reason.
pub(crate) fn failure_lines(failed: &[Failed]) -> Vec<String> {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for f in failed {
        match groups.iter_mut().find(|(reason, _)| *reason == f.reason) {
            Some((_, runs)) => runs.push(&f.run),
            None => groups.push((&f.reason, vec![&f.run])),
        }
    }
    let mut lines = Vec::new();
    for (reason, runs) in groups {
        if let [run] = runs[..] {
            lines.push(format!("  failed: {run}: {reason}"));
            continue;
        }
        lines.push(format!("  failed ({} runs): {reason}", runs.len()));
        lines.extend(runs.iter().take(LISTED).map(|run| format!("    {run}")));
        if runs.len() > LISTED {
            lines.push(format!(
                "    … and {} more (`sweep status` lists every run)",
                runs.len() - LISTED
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(run: &str, reason: &str) -> Failed {
        Failed {
            run: run.into(),
            reason: reason.into(),
        }
    }

    #[test]
    fn a_shared_reason_is_printed_once_with_its_runs() {
        let advice = "invalid-data: no file chestmnist.npz; run `sweep data pull chestmnist`";
        let lines = failure_lines(&[
            failed("chestmnist chest_cnn lr=0.001 class_weighting=none", advice),
            failed("abc123 breastmnist small_cnn", "crashed: exit 3"),
            failed(
                "chestmnist chest_cnn lr=0.001 class_weighting=balanced",
                advice,
            ),
        ]);
        assert_eq!(
            lines,
            [
                format!("  failed (2 runs): {advice}"),
                "    chestmnist chest_cnn lr=0.001 class_weighting=none".to_string(),
                "    chestmnist chest_cnn lr=0.001 class_weighting=balanced".to_string(),
                "  failed: abc123 breastmnist small_cnn: crashed: exit 3".to_string(),
            ]
        );
        assert_eq!(lines.iter().filter(|l| l.contains(advice)).count(), 1);
    }

    #[test]
    fn long_groups_name_some_runs_and_count_the_rest() {
        let many: Vec<Failed> = (0..LISTED + 3)
            .map(|i| failed(&format!("run {i}"), "oom: CUDA out of memory"))
            .collect();
        let lines = failure_lines(&many);
        assert_eq!(
            lines[0],
            format!("  failed ({} runs): oom: CUDA out of memory", LISTED + 3)
        );
        assert_eq!(lines.len(), 1 + LISTED + 1);
        assert_eq!(
            lines.last().unwrap(),
            "    … and 3 more (`sweep status` lists every run)"
        );
        assert!(failure_lines(&[]).is_empty());
    }
}
