//! The training loop: epochs of shuffled mini-batches gathered on the device,
//! whole-epoch metrics, callbacks, and the kept checkpoint (the best epoch by
//! a monitored metric, or with `checkpoint: last` the final one).
//!
//! Metrics are always computed over a whole split's predictions (never
//! averaged per batch): training metrics from the logits produced while
//! training that epoch (as Keras reports them), validation metrics from an
//! evaluation pass in `no_grad` mode with large batches.

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use sweep_core::train_options::{Mode, MonitorMetric, TrainOptions};
use sweep_data::atomic::write_atomic_via_path;
use sweep_metrics::metric_summary::{MetricSummary, evaluate_with_threshold};
use tch::{Device, Kind, Tensor, nn};

use crate::augment::Augment;
use crate::callbacks::{Best, EarlyStopper, PlateauScheduler};
use crate::data::{DeviceSplit, PreparedData, metric_labels};
use crate::loss::Loss;
use crate::memory_format::contiguous_copies;
use crate::models::Model;
use crate::optim;
use crate::resume;

/// Headline numbers of one split at one epoch (a `history.csv` row half).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct SplitScores {
    pub loss: f64,
    pub accuracy: f64,
    pub auc: Option<f64>,
    pub sensitivity: f64,
    pub specificity: f64,
    pub f1: f64,
    pub balanced_accuracy: Option<f64>,
    /// Flattened (`y.ravel()`) scores; `None` for multi-class tasks, where
    /// they are undefined, and in states saved before they were recorded.
    #[serde(default)]
    pub flat_auc: Option<f64>,
    #[serde(default)]
    pub flat_accuracy: Option<f64>,
    #[serde(default)]
    pub flat_f1_weighted: Option<f64>,
}

impl SplitScores {
    fn from(loss: f64, m: &MetricSummary) -> Self {
        let flat = m.flat.as_ref();
        SplitScores {
            loss,
            accuracy: m.accuracy,
            auc: m.auc,
            sensitivity: m.sensitivity,
            specificity: m.specificity,
            f1: m.f1_macro,
            balanced_accuracy: m.balanced_accuracy,
            flat_auc: flat.and_then(|f| f.auc),
            flat_accuracy: flat.map(|f| f.accuracy),
            flat_f1_weighted: flat.map(|f| f.f1_weighted),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: u32,
    pub lr: f64,
    pub train: SplitScores,
    pub val: SplitScores,
    pub seconds: f64,
}

impl EpochRecord {
    /// A monitored metric's value this epoch; NaN where it is undefined
    /// (an AUC with one class present, a flattened metric of a multi-class
    /// task, which the spec refuses to monitor).
    pub fn metric(&self, metric: MonitorMetric) -> f64 {
        let (train, val) = (&self.train, &self.val);
        match metric {
            MonitorMetric::TrainLoss => train.loss,
            MonitorMetric::TrainAccuracy => train.accuracy,
            MonitorMetric::TrainAuc => train.auc.unwrap_or(f64::NAN),
            MonitorMetric::TrainSensitivity => train.sensitivity,
            MonitorMetric::TrainSpecificity => train.specificity,
            MonitorMetric::ValLoss => val.loss,
            MonitorMetric::ValAccuracy => val.accuracy,
            MonitorMetric::ValAuc => val.auc.unwrap_or(f64::NAN),
            MonitorMetric::ValSensitivity => val.sensitivity,
            MonitorMetric::ValSpecificity => val.specificity,
            MonitorMetric::ValF1 => val.f1,
            MonitorMetric::ValBalancedAccuracy => val.balanced_accuracy.unwrap_or(f64::NAN),
            MonitorMetric::ValFlatAuc => val.flat_auc.unwrap_or(f64::NAN),
            MonitorMetric::ValFlatAccuracy => val.flat_accuracy.unwrap_or(f64::NAN),
            MonitorMetric::ValFlatF1Weighted => val.flat_f1_weighted.unwrap_or(f64::NAN),
        }
    }
}

/// Why training stopped abnormally.
#[derive(Debug)]
pub enum FitError {
    Diverged {
        epoch: u32,
        loss: f64,
    },
    /// Asked to stop; the last completed epoch is saved for resuming.
    Interrupted {
        epoch: u32,
    },
    Torch(String),
}

pub struct FitResult {
    /// Val predictions of the weights the model holds now, when this
    /// process computed them during training (not after a resume that
    /// started past that epoch).
    pub kept_val: Option<Predictions>,
    pub history: Vec<EpochRecord>,
    pub best_epoch: u32,
    pub stopped_early: bool,
    pub train_seconds: f64,
}

/// Model, optimiser and everything the loop touches, borrowed together.
pub struct Trainer<'a> {
    pub vs: &'a mut nn::VarStore,
    pub model: &'a Model,
    pub data: &'a PreparedData,
    pub loss: &'a Loss,
    pub options: &'a TrainOptions,
    pub device: Device,
    /// The run's seed; each epoch reseeds from (seed, epoch) so a resumed
    /// run draws exactly the random numbers an uninterrupted one would.
    pub seed: u64,
    /// Set (by SIGTERM) to stop after the current epoch, its state saved.
    pub stop: &'a std::sync::atomic::AtomicBool,
}

/// Predictions of a model on a whole split: mean loss and probabilities
/// (row-major `n × outputs`, f64 on the host).
pub struct Predictions {
    pub loss: f64,
    pub probs: Vec<f64>,
}

impl Trainer<'_> {
    /// Evaluation pass in eval mode, without gradients, in large batches.
    pub fn predict(&self, split: &DeviceSplit) -> Predictions {
        let _guard = tch::no_grad_guard();
        let n = split.n as i64;
        let step = i64::from(self.options.eval_batch_size);
        let mut chunks = Vec::new();
        let mut start = 0;
        while start < n {
            let len = step.min(n - start);
            let x = self
                .data
                .preprocess
                .apply(&split.images.narrow(0, start, len));
            chunks.push(self.model.forward_t(&x, false));
            start += len;
        }
        let logits = Tensor::cat(&chunks, 0);
        let loss = self
            .loss
            .evaluate(&logits, &split.targets)
            .double_value(&[]);
        Predictions {
            loss,
            probs: to_host(&self.loss.probabilities(&logits)),
        }
    }

    /// All metrics of `probs` against host `labels` (`n * width` bytes, same order).
    pub fn score(&self, labels: &[u8], probs: &[f64]) -> Result<MetricSummary, String> {
        let labels = metric_labels(labels, self.data.task);
        evaluate_with_threshold(
            self.data.task,
            &labels.as_labels(),
            probs,
            self.data.num_outputs,
            self.options.threshold,
        )
        .map_err(|e| e.to_string())
    }

    /// Trains for the configured epochs; keeps the best epoch's weights (or,
    /// with `checkpoint: last`, every epoch's in turn) in `checkpoint` and
    /// loads them back at the end (unless early stopping says not to
    /// restore). After every epoch the whole training state is
    /// saved in `resume_dir`, and training continues from there if a saved
    /// state exists. `on_epoch` sees every new record as it is made.
    pub fn fit(
        &mut self,
        base_lr: f64,
        checkpoint: &Path,
        resume_dir: &Path,
        mut on_epoch: impl FnMut(&EpochRecord),
    ) -> Result<FitResult, FitError> {
        let opts = self.options;
        let torch = |e: tch::TchError| FitError::Torch(e.to_string());
        let mut optimizer = optim::Optimizer::new(&opts.optimizer, self.vs, base_lr);
        let augment = opts.augmentation.as_ref().map(|a| Augment {
            rotation_deg: a.rotation,
            shift: a.shift,
            zoom: a.zoom,
            hflip: a.hflip,
        });
        let mut state = TrainState {
            epoch: 0,
            step: 0,
            history: Vec::new(),
            best: Best::new(opts.checkpoint.monitor().map_or(Mode::Max, |m| m.mode), 0.0),
            stopper: opts.early_stopping.as_ref().map(EarlyStopper::new),
            plateau: opts
                .reduce_lr_on_plateau
                .as_ref()
                .map(PlateauScheduler::new),
            plateau_scale: 1.0,
            stopped: false,
            train_seconds: 0.0,
        };
        if let Some(saved) =
            resume::load(resume_dir, self.vs, &mut optimizer).map_err(FitError::Torch)?
        {
            state = saved;
        }
        // One line per training attempt in worker.log: the chaos test counts
        // these to prove no finished run is ever trained again.
        crate::worker_log!(
            "sweep worker: training from epoch {} of {}{}",
            state.epoch + 1,
            opts.epochs,
            if state.epoch > 0 { " (resumed)" } else { "" }
        );
        let abort_at = std::env::var("SWEEP_TEST_ABORT_AT_EPOCH")
            .ok()
            .and_then(|v| v.parse::<u32>().ok());

        // Val predictions of the weights in `checkpoint` and of the last
        // epoch, when this process computed them: the final val scores reuse
        // them instead of predicting again (the same weights give the same
        // numbers). None after a resume that did not reach such an epoch.
        let mut checkpoint_val: Option<(u32, Predictions)> = None;
        let mut last_val: Option<(u32, Predictions)> = None;
        while !state.stopped && state.epoch < opts.epochs {
            let epoch = state.epoch + 1;
            if abort_at == Some(epoch) {
                // Test hook: simulate a hard crash (no unwinding, no cleanup).
                std::process::abort();
            }
            let epoch_start = Instant::now();
            tch::manual_seed(epoch_seed(self.seed, epoch));
            let lr = optim::scheduled_lr(&opts.schedule, base_lr, epoch) * state.plateau_scale;
            optimizer.set_lr(lr);
            let (train_loss, train_probs, order) =
                self.train_epoch(&mut optimizer, augment.as_ref());
            if !train_loss.is_finite() {
                return Err(FitError::Diverged {
                    epoch,
                    loss: train_loss,
                });
            }
            let train_split = &self.data.train;
            let train_labels = reorder(&train_split.labels, train_split.label_width, &order);
            let train_metrics = self
                .score(&train_labels, &train_probs)
                .map_err(FitError::Torch)?;
            let val = self.predict(&self.data.val);
            if !val.loss.is_finite() {
                return Err(FitError::Diverged {
                    epoch,
                    loss: val.loss,
                });
            }
            let val_metrics = self
                .score(&self.data.val.labels, &val.probs)
                .map_err(FitError::Torch)?;
            let record = EpochRecord {
                epoch,
                lr,
                train: SplitScores::from(train_loss, &train_metrics),
                val: SplitScores::from(val.loss, &val_metrics),
                seconds: epoch_start.elapsed().as_secs_f64(),
            };
            let keep = match opts.checkpoint.monitor() {
                Some(m) => state.best.update(epoch, record.metric(m.metric)),
                // `checkpoint: last`: every epoch replaces the kept weights.
                None => {
                    state.best.epoch = Some(epoch);
                    true
                }
            };
            if keep || !checkpoint.exists() {
                save_atomic(self.vs, checkpoint).map_err(torch)?;
                checkpoint_val = Some((epoch, val));
            } else {
                last_val = Some((epoch, val));
            }
            on_epoch(&record);
            if let (Some(p), Some(cfg)) =
                (state.plateau.as_mut(), opts.reduce_lr_on_plateau.as_ref())
            {
                let next = p.step(epoch, record.metric(cfg.monitor.metric), lr);
                state.plateau_scale *= next / lr;
            }
            if let (Some(s), Some(cfg)) = (state.stopper.as_mut(), opts.early_stopping.as_ref()) {
                state.stopped = s.should_stop(epoch, record.metric(cfg.monitor.metric));
            }
            state.train_seconds += record.seconds;
            state.history.push(record);
            state.epoch = epoch;
            state.step = optimizer.step;
            resume::save(resume_dir, self.vs, &optimizer, &state).map_err(FitError::Torch)?;
            if self.stop.load(std::sync::atomic::Ordering::SeqCst)
                && !state.stopped
                && state.epoch < opts.epochs
            {
                return Err(FitError::Interrupted { epoch: state.epoch });
            }
        }
        let restore = opts.early_stopping.as_ref().is_none_or(|e| e.restore_best);
        let kept_val = if restore && checkpoint.exists() {
            self.vs.load(checkpoint).map_err(torch)?;
            checkpoint_val.map(|(_, p)| p)
        } else {
            // The last epoch's weights stay; its predictions are in one of the two.
            [checkpoint_val, last_val]
                .into_iter()
                .flatten()
                .find(|(e, _)| *e == state.epoch)
                .map(|(_, p)| p)
        };
        Ok(FitResult {
            kept_val,
            best_epoch: state.best.epoch.unwrap_or(state.history.len() as u32),
            stopped_early: state.stopped && state.epoch < opts.epochs,
            history: state.history,
            train_seconds: state.train_seconds,
        })
    }

    /// One pass over the training split in a fresh random order. Returns the
    /// mean loss, the probabilities in visiting order, and that order.
    fn train_epoch(
        &mut self,
        optimizer: &mut optim::Optimizer,
        augment: Option<&Augment>,
    ) -> (f64, Vec<f64>, Vec<i64>) {
        let split = &self.data.train;
        let n = split.n as i64;
        let bs = i64::from(self.options.batch_size);
        let order = Tensor::randperm(n, (Kind::Int64, self.device));
        let mut loss_sum = Tensor::zeros([], (Kind::Double, self.device));
        let mut outputs = Vec::with_capacity((n / bs + 1) as usize);
        let mut start = 0;
        while start < n {
            let len = bs.min(n - start);
            let idx = order.narrow(0, start, len);
            let mut x = self
                .data
                .preprocess
                .apply(&split.images.index_select(0, &idx));
            if let Some(a) = augment {
                x = a.apply(&x);
            }
            let y = split.targets.index_select(0, &idx);
            let logits = self.model.forward_t(&x, true);
            let loss = self.loss.compute(&logits, &y);
            optimizer.backward_step(&loss);
            loss_sum += loss.detach().to_kind(Kind::Double) * len as f64;
            outputs.push(logits.detach());
            start += len;
        }
        let logits = Tensor::cat(&outputs, 0);
        let probs = to_host(&self.loss.probabilities(&logits));
        let order: Vec<i64> = Vec::try_from(order.to_device(Device::Cpu)).unwrap_or_default();
        (loss_sum.double_value(&[]) / n as f64, probs, order)
    }
}

fn reorder(labels: &[u8], width: usize, order: &[i64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(labels.len());
    for &i in order {
        let i = i as usize;
        out.extend_from_slice(&labels[i * width..(i + 1) * width]);
    }
    out
}

fn to_host(t: &Tensor) -> Vec<f64> {
    Vec::try_from(
        t.to_kind(Kind::Double)
            .to_device(Device::Cpu)
            .flatten(0, -1),
    )
    .unwrap_or_default()
}

/// Everything needed to continue training after the last completed epoch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainState {
    pub epoch: u32,
    pub step: i64,
    pub history: Vec<EpochRecord>,
    pub best: Best,
    pub stopper: Option<EarlyStopper>,
    pub plateau: Option<PlateauScheduler>,
    pub plateau_scale: f64,
    pub stopped: bool,
    pub train_seconds: f64,
}

/// The seed of one epoch: a fixed mix of the run seed and the epoch number.
fn epoch_seed(seed: u64, epoch: u32) -> i64 {
    let mixed = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(u64::from(epoch).wrapping_mul(0xBF58_476D_1CE4_E5B9));
    (mixed >> 1) as i64
}

/// Saves weights through [`sweep_data::atomic`] (temporary file, fsync,
/// rename, fsync of the folder), so a crash never leaves a torn checkpoint,
/// and a failed write leaves no partial file taking the space a retry needs.
fn save_atomic(vs: &nn::VarStore, path: &Path) -> Result<(), tch::TchError> {
    let named = contiguous_copies(vs.variables().into_iter().collect());
    write_atomic_via_path(path, |temp| Tensor::write_safetensors(&named, temp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(base: f64) -> SplitScores {
        SplitScores {
            loss: base + 0.1,
            accuracy: base + 0.2,
            auc: Some(base + 0.3),
            sensitivity: base + 0.4,
            specificity: base + 0.5,
            f1: base + 0.6,
            balanced_accuracy: Some(base + 0.7),
            flat_auc: Some(base + 0.8),
            flat_accuracy: Some(base + 0.9),
            flat_f1_weighted: Some(base + 0.95),
        }
    }

    #[test]
    fn every_monitor_metric_reads_the_score_it_names() {
        let record = EpochRecord {
            epoch: 1,
            lr: 0.1,
            train: scores(0.0),
            val: scores(1.0),
            seconds: 1.0,
        };
        for m in MonitorMetric::ALL {
            let (split, score) = m.as_str().split_once('_').unwrap();
            let base = match split {
                "train" => 0.0,
                "val" => 1.0,
                other => panic!("{m}: unknown split {other}"),
            };
            let offset = match score {
                "loss" => 0.1,
                "accuracy" => 0.2,
                "auc" => 0.3,
                "sensitivity" => 0.4,
                "specificity" => 0.5,
                "f1" => 0.6,
                "balanced_accuracy" => 0.7,
                "flat_auc" => 0.8,
                "flat_accuracy" => 0.9,
                "flat_f1_weighted" => 0.95,
                other => panic!("{m}: unknown score {other}"),
            };
            assert_eq!(record.metric(m), base + offset, "{m}");
        }
        let mut one_class = record.clone();
        one_class.val.auc = None;
        assert!(one_class.metric(MonitorMetric::ValAuc).is_nan());
        assert_eq!(one_class.metric(MonitorMetric::TrainAuc), 0.3);
        let mut multi_class = record.clone();
        multi_class.val.flat_f1_weighted = None;
        assert!(
            multi_class
                .metric(MonitorMetric::ValFlatF1Weighted)
                .is_nan()
        );
    }

    #[test]
    fn states_saved_before_flattened_scores_still_load() {
        let mut old = serde_json::to_value(scores(0.0)).unwrap();
        for key in ["flat_auc", "flat_accuracy", "flat_f1_weighted"] {
            old.as_object_mut().unwrap().remove(key);
        }
        let back: SplitScores = serde_json::from_value(old).unwrap();
        assert_eq!(back.flat_auc, None);
        assert_eq!(back.f1, 0.6);
    }
}
