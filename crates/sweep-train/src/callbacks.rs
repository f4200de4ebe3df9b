//! Early stopping, ReduceLROnPlateau and best-epoch tracking as small pure
//! state machines, tested without a model.
//!
//! They follow Keras semantics exactly, because the reference studies that
//! used these callbacks were run with Keras: an epoch "improves" when the
//! monitored value beats the best so far by more than `min_delta` in the
//! monitor's direction (a NaN never improves); early stopping stops once
//! `patience` epochs in a row have not improved; ReduceLROnPlateau reduces
//! once `patience` non-improving epochs have accumulated outside cooldown.

use serde::{Deserialize, Serialize};
use sweep_core::train_options::{EarlyStopping, Mode, ReduceLrOnPlateau};

/// Tracks the best value of a monitored metric.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Best {
    mode: Mode,
    min_delta: f64,
    pub value: Option<f64>,
    pub epoch: Option<u32>,
}

impl Best {
    pub fn new(mode: Mode, min_delta: f64) -> Self {
        Best {
            mode,
            min_delta,
            value: None,
            epoch: None,
        }
    }

    /// Would `value` count as an improvement?
    pub fn improves(&self, value: f64) -> bool {
        if value.is_nan() {
            return false;
        }
        match self.value {
            None => true,
            Some(best) => match self.mode {
                Mode::Min => value < best - self.min_delta,
                Mode::Max => value > best + self.min_delta,
            },
        }
    }

    /// Records `value` at `epoch`; returns whether it improved.
    pub fn update(&mut self, epoch: u32, value: f64) -> bool {
        let better = self.improves(value);
        if better {
            self.value = Some(value);
            self.epoch = Some(epoch);
        }
        better
    }
}

/// Stops training after `patience` epochs without improvement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EarlyStopper {
    best: Best,
    patience: u32,
    waited: u32,
}

impl EarlyStopper {
    pub fn new(cfg: &EarlyStopping) -> Self {
        EarlyStopper {
            best: Best::new(cfg.monitor.mode, cfg.min_delta),
            patience: cfg.patience,
            waited: 0,
        }
    }

    /// Feeds one epoch's value; returns `true` when training should stop.
    pub fn should_stop(&mut self, epoch: u32, value: f64) -> bool {
        if self.best.update(epoch, value) {
            self.waited = 0;
            false
        } else {
            self.waited += 1;
            self.waited >= self.patience
        }
    }
}

/// Multiplies the learning rate by `factor` after `patience` epochs without
/// improvement, then waits `cooldown` epochs; never goes below `min_lr`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlateauScheduler {
    best: Best,
    factor: f64,
    patience: u32,
    cooldown: u32,
    min_lr: f64,
    bad_epochs: u32,
    cooldown_left: u32,
}

impl PlateauScheduler {
    pub fn new(cfg: &ReduceLrOnPlateau) -> Self {
        PlateauScheduler {
            best: Best::new(cfg.monitor.mode, cfg.min_delta),
            factor: cfg.factor,
            patience: cfg.patience,
            cooldown: cfg.cooldown,
            min_lr: cfg.min_lr,
            bad_epochs: 0,
            cooldown_left: 0,
        }
    }

    /// Feeds one epoch's value and the current lr; returns the lr to use next.
    pub fn step(&mut self, epoch: u32, value: f64, lr: f64) -> f64 {
        let in_cooldown = self.cooldown_left > 0;
        if in_cooldown {
            self.cooldown_left -= 1;
            self.bad_epochs = 0;
        }
        if self.best.update(epoch, value) {
            self.bad_epochs = 0;
        } else if !in_cooldown {
            self.bad_epochs += 1;
            if self.bad_epochs >= self.patience {
                self.bad_epochs = 0;
                self.cooldown_left = self.cooldown;
                return (lr * self.factor).max(self.min_lr);
            }
        }
        lr
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sweep_core::train_options::{Monitor, MonitorMetric};

    fn monitor(mode: Mode) -> Monitor {
        Monitor {
            metric: MonitorMetric::ValLoss,
            mode,
        }
    }

    #[test]
    fn early_stopping_waits_patience_epochs() {
        let mut es = EarlyStopper::new(&EarlyStopping {
            monitor: monitor(Mode::Min),
            patience: 2,
            min_delta: 0.0,
            restore_best: true,
        });
        let losses = [1.0, 0.8, 0.9, 0.85, 0.81, 0.7];
        let stop_epoch = losses
            .iter()
            .enumerate()
            .find(|(e, l)| es.should_stop(*e as u32 + 1, **l))
            .map(|(e, _)| e + 1);
        // Epochs 3 and 4 do not improve on 0.8: patience 2 is exhausted at epoch 4.
        assert_eq!(stop_epoch, Some(4));
        assert_eq!(es.best.epoch, Some(2));
    }

    #[test]
    fn max_mode_min_delta_and_nan() {
        let mut b = Best::new(Mode::Max, 0.01);
        assert!(b.update(1, 0.70));
        assert!(
            !b.update(2, 0.705),
            "within min_delta is not an improvement"
        );
        assert!(!b.update(3, f64::NAN));
        assert!(b.update(4, 0.72));
        assert_eq!((b.value, b.epoch), (Some(0.72), Some(4)));
    }

    #[test]
    fn plateau_halves_with_floor_and_cooldown() {
        let mut p = PlateauScheduler::new(&ReduceLrOnPlateau {
            monitor: monitor(Mode::Min),
            factor: 0.5,
            patience: 1,
            min_lr: 0.3,
            cooldown: 1,
            min_delta: 0.0,
        });
        let mut lr = 1.0;
        let mut seen = Vec::new();
        for (e, v) in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0].iter().enumerate() {
            lr = p.step(e as u32 + 1, *v, lr);
            seen.push(lr);
        }
        // Epoch 1 sets the best; epoch 2 is bad (patience 1) → 0.5; epoch 3 is
        // cooldown; epoch 4 bad → 0.3 (the floor, not 0.25); cooldown; then floor.
        assert_eq!(seen, [1.0, 0.5, 0.5, 0.3, 0.3, 0.3, 0.3]);
    }
}
