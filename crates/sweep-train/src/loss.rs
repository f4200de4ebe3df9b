//! The training objective, with class and positive-label weights computed
//! from the training fold only.
//!
//! * Binary and multi-label: BCE-with-logits. `pos_weight` multiplies the
//!   positive term per label (scalar, per-label list, or `auto` =
//!   negatives / positives). `class_weighting: balanced` weighs each
//!   element by `n / (2 · count)` of its own class (0 or 1) per label, as
//!   scikit-learn's `compute_class_weight('balanced')` does for two classes;
//!   an explicit list gives one weight per label (multi-label) or per class
//!   0/1 (binary).
//! * Multi-class: cross-entropy with `balanced` = `n / (k · count_c)` or an
//!   explicit list. A class absent from the training fold gets weight 0.
//!
//! Validation and test losses ([`Loss::evaluate`]) use the same weights
//! unless `train.weighted_eval_loss` is false: then they are the plain
//! unweighted loss, as Keras reports `val_loss` under `class_weight`.

use serde::Serialize;
use sweep_core::train_options::{ClassWeighting, PosWeight};
use sweep_metrics::metric_summary::TaskKind;
use tch::{Device, Kind, Reduction, Tensor};

/// The resolved weights, also written to `metrics.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedWeights {
    /// Per output (sigmoid tasks only).
    pub pos_weight: Option<Vec<f64>>,
    /// Multi-class: per class. Sigmoid tasks: `[negative, positive]` pairs per label.
    pub class_weights: Option<Vec<f64>>,
}

pub struct Loss {
    task: TaskKind,
    pos_weight: Option<Tensor>,
    /// Multi-class: `(k,)`. Sigmoid: `(2, L)` rows = weight of label value 0 / 1.
    class_weight: Option<Tensor>,
    /// Whether [`Loss::evaluate`] applies the weights too.
    weighted_eval: bool,
    pub resolved: ResolvedWeights,
}

impl Loss {
    /// Builds the loss from the training labels (`n * width` bytes).
    pub fn new(
        task: TaskKind,
        num_outputs: usize,
        train_labels: &[u8],
        width: usize,
        class_weighting: &ClassWeighting,
        pos_weight: &PosWeight,
        device: Device,
    ) -> Loss {
        let n = (train_labels.len() / width.max(1)) as f64;
        let mut resolved = ResolvedWeights {
            pos_weight: None,
            class_weights: None,
        };
        let to_tensor = |v: &[f64]| Tensor::from_slice(v).to_kind(Kind::Float).to_device(device);
        match task {
            TaskKind::MultiClass => {
                let mut counts = vec![0usize; num_outputs];
                for &c in train_labels {
                    if let Some(slot) = counts.get_mut(usize::from(c)) {
                        *slot += 1;
                    }
                }
                let weights = match class_weighting {
                    ClassWeighting::None => None,
                    ClassWeighting::Balanced => Some(
                        counts
                            .iter()
                            .map(|&c| {
                                if c == 0 {
                                    0.0
                                } else {
                                    n / (num_outputs as f64 * c as f64)
                                }
                            })
                            .collect::<Vec<_>>(),
                    ),
                    ClassWeighting::Explicit(w) => Some(w.clone()),
                };
                resolved.class_weights = weights.clone();
                Loss {
                    task,
                    pos_weight: None,
                    class_weight: weights.as_deref().map(to_tensor),
                    weighted_eval: true,
                    resolved,
                }
            }
            _ => {
                let positives: Vec<f64> = (0..num_outputs)
                    .map(|j| {
                        train_labels
                            .iter()
                            .skip(j)
                            .step_by(width)
                            .filter(|&&v| v != 0)
                            .count() as f64
                    })
                    .collect();
                let pw: Option<Vec<f64>> = match pos_weight {
                    PosWeight::None => None,
                    PosWeight::Scalar(v) => Some(vec![*v; num_outputs]),
                    PosWeight::PerLabel(w) => Some(w.clone()),
                    PosWeight::Auto => Some(
                        positives
                            .iter()
                            .map(|&p| if p == 0.0 { 1.0 } else { (n - p) / p })
                            .collect(),
                    ),
                };
                // Rows: weight for label value 0, weight for label value 1.
                let cw: Option<Vec<f64>> = match class_weighting {
                    ClassWeighting::None => None,
                    ClassWeighting::Balanced => {
                        let neg: Vec<f64> = positives
                            .iter()
                            .map(|&p| {
                                if n - p == 0.0 {
                                    0.0
                                } else {
                                    n / (2.0 * (n - p))
                                }
                            })
                            .collect();
                        let pos: Vec<f64> = positives
                            .iter()
                            .map(|&p| if p == 0.0 { 0.0 } else { n / (2.0 * p) })
                            .collect();
                        Some([neg, pos].concat())
                    }
                    ClassWeighting::Explicit(w) if task == TaskKind::Binary => Some(w.clone()),
                    ClassWeighting::Explicit(w) => Some([w.as_slice(), w.as_slice()].concat()),
                };
                resolved.pos_weight = pw.clone();
                resolved.class_weights = cw.clone();
                Loss {
                    task,
                    pos_weight: pw.as_deref().map(to_tensor),
                    class_weight: cw
                        .as_deref()
                        .map(|w| to_tensor(w).view([2, num_outputs as i64])),
                    weighted_eval: true,
                    resolved,
                }
            }
        }
    }

    /// The same loss, with validation and test losses weighted (`true`,
    /// the default) or not (`false`, `train.weighted_eval_loss: false`).
    pub fn with_weighted_eval(mut self, weighted: bool) -> Loss {
        self.weighted_eval = weighted;
        self
    }

    /// Mean training loss of `logits` against `targets`.
    pub fn compute(&self, logits: &Tensor, targets: &Tensor) -> Tensor {
        self.weighted(logits, targets, true)
    }

    /// Mean validation/test loss: weighted only when `weighted_eval_loss` is on.
    pub fn evaluate(&self, logits: &Tensor, targets: &Tensor) -> Tensor {
        self.weighted(logits, targets, self.weighted_eval)
    }

    fn weighted(&self, logits: &Tensor, targets: &Tensor, use_weights: bool) -> Tensor {
        let class_weight = self.class_weight.as_ref().filter(|_| use_weights);
        let pos_weight = self.pos_weight.as_ref().filter(|_| use_weights);
        match self.task {
            TaskKind::MultiClass => {
                logits.cross_entropy_loss(targets, class_weight, Reduction::Mean, -100, 0.0)
            }
            _ => {
                let element_weight = class_weight.map(|w| {
                    // w[0] where the label is 0, w[1] where it is 1.
                    let neg = w.get(0).unsqueeze(0);
                    let pos = w.get(1).unsqueeze(0);
                    targets * &pos + (1.0 - targets) * &neg
                });
                logits.binary_cross_entropy_with_logits(
                    targets,
                    element_weight.as_ref(),
                    pos_weight,
                    Reduction::Mean,
                )
            }
        }
    }

    /// Probabilities from logits: sigmoid or softmax.
    pub fn probabilities(&self, logits: &Tensor) -> Tensor {
        match self.task {
            TaskKind::MultiClass => logits.softmax(-1, Kind::Float),
            _ => logits.sigmoid(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_pos_weight_is_negatives_over_positives_per_label() {
        // 4 samples x 2 labels: label 0 has 1 positive, label 1 has 2.
        let labels = [1u8, 0, 0, 1, 0, 1, 0, 0];
        let l = Loss::new(
            TaskKind::MultiLabel,
            2,
            &labels,
            2,
            &ClassWeighting::None,
            &PosWeight::Auto,
            Device::Cpu,
        );
        assert_eq!(l.resolved.pos_weight, Some(vec![3.0, 1.0]));
    }

    #[test]
    fn balanced_multiclass_weights_match_sklearn_formula() {
        let labels = [0u8, 0, 0, 1, 2, 2];
        let l = Loss::new(
            TaskKind::MultiClass,
            4,
            &labels,
            1,
            &ClassWeighting::Balanced,
            &PosWeight::None,
            Device::Cpu,
        );
        // n / (k * count): 6/(4*3), 6/(4*1), 6/(4*2), absent class → 0.
        assert_eq!(l.resolved.class_weights, Some(vec![0.5, 1.5, 0.75, 0.0]));
    }

    #[test]
    fn pos_weight_matches_torch_formula() {
        let logits = Tensor::from_slice(&[0.3f32, -1.2]).view([2, 1]);
        let targets = Tensor::from_slice(&[1.0f32, 0.0]).view([2, 1]);
        let l = Loss::new(
            TaskKind::Binary,
            1,
            &[1, 0],
            1,
            &ClassWeighting::None,
            &PosWeight::Scalar(10.0),
            Device::Cpu,
        );
        let got = l.compute(&logits, &targets).double_value(&[]);
        let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
        let want = (-(10.0 * sig(0.3).ln()) - (1.0 - sig(-1.2)).ln()) / 2.0;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        assert!((l.evaluate(&logits, &targets).double_value(&[]) - got).abs() < 1e-7);
        let unweighted = l.with_weighted_eval(false);
        let plain = (-sig(0.3).ln() - (1.0 - sig(-1.2)).ln()) / 2.0;
        let eval = unweighted.evaluate(&logits, &targets).double_value(&[]);
        assert!((eval - plain).abs() < 1e-5, "{eval} vs {plain}");
        let train = unweighted.compute(&logits, &targets).double_value(&[]);
        assert!(
            (train - want).abs() < 1e-5,
            "training stays weighted: {train}"
        );
    }

    #[test]
    fn unweighted_eval_loss_drops_multiclass_class_weights() {
        let logits = Tensor::from_slice(&[2.0f32, 0.5, -1.0, 0.1, 0.3, 1.5]).view([2, 3]);
        let targets = Tensor::from_slice(&[0i64, 2]);
        let loss = |weighted| {
            Loss::new(
                TaskKind::MultiClass,
                3,
                &[0, 0, 0, 1, 2, 2],
                1,
                &ClassWeighting::Balanced,
                &PosWeight::None,
                Device::Cpu,
            )
            .with_weighted_eval(weighted)
        };
        let ce = |i: usize, row: [f64; 3]| {
            let z: f64 = row.iter().map(|v| v.exp()).sum();
            z.ln() - row[i]
        };
        let (a, b) = (ce(0, [2.0, 0.5, -1.0]), ce(2, [0.1, 0.3, 1.5]));
        // balanced weights 6/(3·3) = 2/3 for class 0, 6/(3·2) = 1 for class 2.
        let weighted = (2.0 / 3.0 * a + b) / (2.0 / 3.0 + 1.0);
        let got = |w: bool| loss(w).evaluate(&logits, &targets).double_value(&[]);
        assert!((got(true) - weighted).abs() < 1e-5, "{}", got(true));
        assert!((got(false) - (a + b) / 2.0).abs() < 1e-5, "{}", got(false));
    }
}
