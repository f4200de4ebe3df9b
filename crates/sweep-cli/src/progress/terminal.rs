//! Live progress on a terminal: an overall bar (done/cached/failed/total,
//! elapsed time and an ETA) and one line per running slot.
//!
//! The overall bar moves by epochs, not only by finished runs: each run is
//! [`STEPS_PER_RUN`] steps, and a running run has advanced by its share of
//! epochs done. So the ETA (indicatif's estimate from the rate of steps)
//! exists from the first epoch of the first run, rather than reading `0s`
//! until a whole run has ended, and the elapsed time ticks every second
//! while runs train.

use std::collections::HashMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use sweep_core::protocol::events::SlurmEvent;
use sweep_core::protocol::events::WorkerEvent;
use sweep_core::scheduler::{Progress, Reporter};
use sweep_core::slurm::SlurmReporter;

/// Steps of the overall bar per run: fine enough for one epoch of a
/// 1000-epoch run to move it.
const STEPS_PER_RUN: u64 = 1000;

/// Before any epoch has ended there is no rate to estimate from.
const TEMPLATE_WITHOUT_ETA: &str = "{bar:32.cyan/blue} {msg}  elapsed {elapsed}  eta -";
const TEMPLATE: &str = "{bar:32.cyan/blue} {msg}  elapsed {elapsed}  eta {eta}";

pub(crate) struct Terminal {
    multi: MultiProgress,
    overall: ProgressBar,
    slots: HashMap<usize, ProgressBar>,
    /// Share of its epochs each running run has done, by slot.
    running: HashMap<usize, f64>,
    total: u64,
    /// Runs that are over: trained, cached, failed or skipped.
    settled: u64,
    cached: u64,
    failed: u64,
    eta_shown: bool,
}

impl Terminal {
    pub(crate) fn new(total: u64, cached: u64) -> Self {
        let multi = MultiProgress::new();
        let overall = multi.add(ProgressBar::new(total * STEPS_PER_RUN));
        overall.set_style(style(TEMPLATE_WITHOUT_ETA));
        let mut t = Terminal {
            multi,
            overall,
            slots: HashMap::new(),
            running: HashMap::new(),
            total,
            settled: cached,
            cached,
            failed: 0,
            eta_shown: false,
        };
        t.update();
        // The runs settled before training are no evidence of its rate.
        t.overall.reset_eta();
        t.overall.enable_steady_tick(Duration::from_secs(1));
        t
    }

    /// The bar's position in steps: settled runs whole, running ones by
    /// their epochs.
    fn position(&self) -> u64 {
        let running: f64 = self.running.values().sum();
        let steps = self.settled * STEPS_PER_RUN + (running * STEPS_PER_RUN as f64) as u64;
        steps.min(self.total * STEPS_PER_RUN)
    }

    fn update(&mut self) {
        self.overall.set_position(self.position());
        self.overall.set_message(format!(
            "{}/{} runs ({} cached, {} failed)",
            self.settled, self.total, self.cached, self.failed
        ));
    }

    /// A running run reached `epoch` of `epochs`.
    fn epoch_done(&mut self, slot: usize, epoch: u32, epochs: u32) {
        let share = if epochs == 0 {
            0.0
        } else {
            (f64::from(epoch) / f64::from(epochs)).min(1.0)
        };
        self.running.insert(slot, share);
        if !self.eta_shown {
            self.eta_shown = true;
            self.overall.set_style(style(TEMPLATE));
        }
        self.update();
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

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
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
                self.running.insert(*slot, 0.0);
                self.update();
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
                self.epoch_done(*slot, *epoch, *epochs);
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
                self.settled += 1;
                self.update();
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
                self.running.remove(slot);
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
                    self.settled += 1;
                }
                self.update();
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
                self.settled = (*cached + skipped.len()) as u64;
                self.update();
                self.overall.reset_eta();
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

#[cfg(test)]
mod tests {
    use super::*;
    use sweep_core::hash::RunKey;

    fn key() -> RunKey {
        RunKey::parse(&"ab".repeat(32)).unwrap()
    }

    fn started(slot: usize) -> Progress {
        Progress::Started {
            slot,
            device: "cpu".into(),
            key: key(),
            label: "run".into(),
            attempt: 1,
        }
    }

    fn epoch(slot: usize, epoch: u32, epochs: u32) -> Progress {
        Progress::Worker {
            slot,
            key: key(),
            event: WorkerEvent::Epoch {
                epoch,
                epochs,
                lr: 1e-3,
                train_loss: 0.5,
                val_loss: 0.5,
                monitor: 0.5,
                monitor_name: "val_loss".into(),
                seconds: 1.0,
            },
        }
    }

    fn finished(slot: usize, ok: bool, will_retry: bool) -> Progress {
        Progress::Finished {
            slot,
            key: key(),
            label: "run".into(),
            result: if ok {
                Ok(())
            } else {
                Err((sweep_core::store::FailureKind::Crashed, "exit 3".into()))
            },
            seconds: 1.0,
            will_retry,
        }
    }

    #[test]
    fn the_overall_bar_moves_with_the_epochs_of_running_runs() {
        // 4 runs, 1 cached: the bar starts a quarter full, with no ETA yet.
        let mut t = Terminal::new(4, 1);
        assert_eq!(t.overall.position(), STEPS_PER_RUN);
        assert!(!t.eta_shown);
        t.report(&started(0));
        t.report(&started(1));
        t.report(&epoch(0, 5, 10));
        t.report(&epoch(1, 1, 4));
        assert!(t.eta_shown);
        assert_eq!(t.overall.position(), STEPS_PER_RUN + 500 + 250);
        assert_eq!(t.overall.message(), "1/4 runs (1 cached, 0 failed)");
        // A run retried after a crash starts over; a finished one counts whole.
        t.report(&finished(1, false, true));
        t.report(&finished(0, true, false));
        assert_eq!(t.overall.position(), 2 * STEPS_PER_RUN);
        t.report(&started(0));
        t.report(&finished(0, false, false));
        assert_eq!(t.overall.position(), 3 * STEPS_PER_RUN);
        assert_eq!(t.overall.message(), "3/4 runs (1 cached, 1 failed)");
    }
}
