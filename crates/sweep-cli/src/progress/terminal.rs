//! Live progress on a terminal: an overall bar (done/cached/failed/total and
//! an ETA from observed run times) and one line per running slot.

use std::collections::HashMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use sweep_core::protocol::events::SlurmEvent;
use sweep_core::protocol::events::WorkerEvent;
use sweep_core::scheduler::{Progress, Reporter};
use sweep_core::slurm::SlurmReporter;

pub(crate) struct Terminal {
    multi: MultiProgress,
    overall: ProgressBar,
    slots: HashMap<usize, ProgressBar>,
    cached: u64,
    failed: u64,
}

impl Terminal {
    pub(crate) fn new(total: u64, cached: u64) -> Self {
        let multi = MultiProgress::new();
        let overall = multi.add(ProgressBar::new(total));
        overall.set_style(
            ProgressStyle::with_template(
                "{bar:32.cyan/blue} {pos}/{len} runs  {msg}  elapsed {elapsed}  eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        overall.set_position(cached);
        overall.reset_eta();
        let t = Terminal {
            multi,
            overall,
            slots: HashMap::new(),
            cached,
            failed: 0,
        };
        t.update_message();
        t
    }

    fn update_message(&self) {
        self.overall
            .set_message(format!("({} cached, {} failed)", self.cached, self.failed));
    }

    fn slot_bar(&mut self, slot: usize) -> &ProgressBar {
        let multi = &self.multi;
        self.slots.entry(slot).or_insert_with(|| {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("  {spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        })
    }
}

impl Reporter for Terminal {
    fn report(&mut self, p: &Progress) {
        match p {
            Progress::Started {
                slot,
                device,
                key,
                label,
                ..
            } => {
                let text = format!("[{device}] {} {label}: starting", key.short());
                self.slot_bar(*slot).set_message(text);
            }
            Progress::Worker {
                slot,
                key,
                event:
                    WorkerEvent::Epoch {
                        epoch,
                        epochs,
                        val_loss,
                        monitor,
                        monitor_name,
                        ..
                    },
            } => {
                let text = format!(
                    "{} epoch {epoch}/{epochs}  {}",
                    key.short(),
                    super::epoch_scores(None, *val_loss, monitor_name, *monitor)
                );
                self.slot_bar(*slot).set_message(text);
            }
            Progress::Worker { .. } => {}
            Progress::Waiting { key, label, .. } => {
                self.multi
                    .println(format!(
                        "waiting for {} {label} (another sweep is training it)",
                        key.short()
                    ))
                    .ok();
            }
            Progress::CachedByOther { .. } => {
                self.cached += 1;
                self.overall.inc(1);
                self.update_message();
            }
            Progress::Finished {
                slot,
                key,
                label,
                result,
                will_retry,
                ..
            } => {
                if let Some(bar) = self.slots.remove(slot) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
                if result.is_err() {
                    self.multi
                        .println(format!(
                            "{} {label}: {}",
                            key.short(),
                            super::outcome_text(p).unwrap_or_default()
                        ))
                        .ok();
                }
                if !will_retry {
                    if result.is_err() {
                        self.failed += 1;
                    }
                    self.overall.inc(1);
                }
                self.update_message();
            }
            Progress::Interrupted { killing } => {
                let text = if *killing {
                    "interrupt: killing running workers"
                } else {
                    "interrupt: no new runs will start; running ones stop after their current epoch, which is saved (Ctrl-C again to kill them)"
                };
                self.multi.println(text).ok();
            }
            Progress::Measured { .. } => {
                if let Some(text) = super::measured_text(p) {
                    self.multi.println(text).ok();
                }
            }
        }
    }
}

impl SlurmReporter for Terminal {
    /// The bar already shows where the runs stand, so tallies are not
    /// printed; everything else is.
    fn slurm(&mut self, event: &SlurmEvent) {
        match event {
            SlurmEvent::SlurmTally { .. } => return,
            SlurmEvent::SlurmPlanned {
                cached, skipped, ..
            } => {
                self.cached = *cached as u64;
                self.overall.set_position((*cached + skipped.len()) as u64);
                self.update_message();
            }
            _ => {}
        }
        for line in super::slurm::lines(event) {
            self.multi.println(line).ok();
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        for bar in self.slots.values() {
            bar.finish_and_clear();
        }
        self.overall.finish_and_clear();
    }
}
