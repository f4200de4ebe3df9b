//! Plain timestamped progress lines on stderr, for logs and CI.

use std::time::SystemTime;

use sweep_core::protocol::events::SlurmEvent;
use sweep_core::protocol::events::WorkerEvent;
use sweep_core::scheduler::{Progress, Reporter};
use sweep_core::slurm::SlurmReporter;

pub(crate) struct Lines;

fn stamp() -> String {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        .to_string()
}

impl Reporter for Lines {
    fn report(&mut self, p: &Progress) {
        let line = match p {
            Progress::Started {
                slot,
                device,
                key,
                label,
                attempt,
            } => format!(
                "slot {slot} ({device}) start {} {label}{}",
                key.short(),
                if *attempt > 1 {
                    format!(" (attempt {attempt})")
                } else {
                    String::new()
                }
            ),
            Progress::Worker {
                slot,
                key,
                event:
                    WorkerEvent::Epoch {
                        epoch,
                        epochs,
                        train_loss,
                        val_loss,
                        monitor,
                        monitor_name,
                        ..
                    },
            } => format!(
                "slot {slot} {} epoch {epoch}/{epochs}  {}",
                key.short(),
                super::epoch_scores(Some(*train_loss), *val_loss, monitor_name, *monitor)
            ),
            Progress::Worker { .. } => return,
            Progress::Waiting { key, label, holder } => format!(
                "wait  {} {label}: being trained by process {}",
                key.short(),
                holder.map_or("?".into(), |p| p.to_string())
            ),
            Progress::CachedByOther { key, label } => {
                format!("cached {} {label} (finished by another sweep)", key.short())
            }
            Progress::Finished {
                slot, key, label, ..
            } => format!(
                "slot {slot} {} {label}: {}",
                key.short(),
                super::outcome_text(p).unwrap_or_default()
            ),
            Progress::Interrupted { killing: false } => {
                "interrupt: no new runs will start; running ones finish (Ctrl-C again to kill them)"
                    .into()
            }
            Progress::Interrupted { killing: true } => "interrupt: killing running workers".into(),
            Progress::Measured { .. } => super::measured_text(p).unwrap_or_default(),
        };
        eprintln!("[{}] {line}", stamp());
    }
}

impl SlurmReporter for Lines {
    /// Without a timestamp: these lines read as they always have.
    fn slurm(&mut self, event: &SlurmEvent) {
        for line in super::slurm::lines(event) {
            eprintln!("{line}");
        }
    }
}
