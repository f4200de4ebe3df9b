//! Reporters for `sweep run`: they only consume run events, so the
//! scheduler never knows whether a human, a log file or another tool is
//! watching.
//!
//! * [`terminal`] — an overall bar plus one line per running slot (a TTY).
//! * [`lines`] — plain timestamped lines (CI, logs, pipes).
//! * [`json`] — one JSON object per event on stdout (`--json`).
//! * [`slurm`] — the text of the Slurm backend's own events.
//! * [`failures`] — the closing failure lines, one per distinct reason.
//!
//! `sweep run --backend slurm` reports the same run events, plus its own
//! (`SlurmEvent`), to the same reporters.

pub(crate) mod failures;
pub(crate) mod json;
pub(crate) mod lines;
pub(crate) mod slurm;
pub(crate) mod terminal;

use sweep_core::scheduler::Progress;

/// An epoch's losses as `train_loss 0.4123 val_loss 0.5012 val_auc 0.8810`:
/// the monitored metric is added unless it is the val loss already shown.
pub(crate) fn epoch_scores(
    train_loss: Option<f64>,
    val_loss: f64,
    monitor_name: &str,
    monitor: f64,
) -> String {
    let mut text = String::new();
    if let Some(train_loss) = train_loss {
        text.push_str(&format!("train_loss {train_loss:.4}  "));
    }
    text.push_str(&format!("val_loss {val_loss:.4}"));
    if monitor_name != "val_loss" {
        text.push_str(&format!("  {monitor_name} {monitor:.4}"));
    }
    text
}

/// What a measured GPU footprint means for the runs after it.
pub(crate) fn measured_text(p: &Progress) -> Option<String> {
    let Progress::Measured {
        key,
        label,
        gpu,
        mib,
    } = p
    else {
        return None;
    };
    Some(format!(
        "measured {} {label}: {mib} MiB on cuda:{gpu}; runs of this shape now share GPUs as memory allows",
        key.short()
    ))
}

/// A one-line label of a finished/failed run outcome.
pub(crate) fn outcome_text(p: &Progress) -> Option<String> {
    match p {
        Progress::Finished {
            result: Ok(()),
            seconds,
            ..
        } => Some(format!("done in {seconds:.1}s")),
        Progress::Finished {
            result: Err((kind, message)),
            will_retry,
            ..
        } => Some(format!(
            "FAILED ({kind}): {message}{}",
            if *will_retry { " — retrying" } else { "" }
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::epoch_scores;

    #[test]
    fn epoch_scores_name_the_monitor_once() {
        assert_eq!(
            epoch_scores(Some(1.48161), 3.04946, "val_loss", 3.04946),
            "train_loss 1.4816  val_loss 3.0495"
        );
        assert_eq!(
            epoch_scores(None, 0.5, "val_auc", 0.88104),
            "val_loss 0.5000  val_auc 0.8810"
        );
    }
}
