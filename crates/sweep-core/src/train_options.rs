//! Training options: everything about *how* one run trains, with defaults.
//!
//! These types are the resolved, validated form that is hashed into a run's
//! key, written to `spec.json` and read back by the trainer. Every field has a
//! concrete value (no `Option` meaning "use the default"), so two experiment
//! files that spell the same run differently resolve to identical JSON and
//! therefore to the same cache entry.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Options under `train:` (and any of them as a grid axis).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainOptions {
    pub epochs: u32,
    pub batch_size: u32,
    /// Batch size for evaluation passes (no gradients, so larger is faster).
    pub eval_batch_size: u32,
    pub optimizer: Optimizer,
    pub early_stopping: Option<EarlyStopping>,
    pub reduce_lr_on_plateau: Option<ReduceLrOnPlateau>,
    pub schedule: Schedule,
    /// Which epoch's weights are kept (and evaluated on test): the last
    /// one, or the best by a monitored metric.
    pub checkpoint: Checkpoint,
    pub augmentation: Option<Augmentation>,
    pub normalize: Normalize,
    /// Channels fed to the model: grayscale is replicated to 3 when 3 is asked.
    /// `None` keeps the dataset's own channel count.
    pub input_channels: Option<u8>,
    /// Resize images to this square size on load; `None` keeps the file's size.
    pub input_size: Option<u32>,
    /// Threshold on sigmoid outputs for binary and multi-label predictions.
    pub threshold: f64,
    /// Train on at most this many training samples (smoke runs); `None` = all.
    pub subset: Option<u32>,
    /// Weights the run starts from: a file by path, or a `sweep weights`
    /// catalogue name.
    pub pretrained: Option<Pretrained>,
    /// Whose default initialisation the weights start from.
    pub init: Init,
    /// Momentum and epsilon of every batch norm.
    pub batch_norm: BatchNormParams,
    /// Whether class weights / `pos_weight` also weigh the validation and
    /// test loss (`false`: the training loss only, as Keras' `class_weight`).
    pub weighted_eval_loss: bool,
    /// The first layers of the ResNets and DenseNets.
    pub stem: Stem,
}

/// Where a run's starting weights come from (`train.pretrained`).
///
/// A path serialises as the bare string it always did, so keys of runs
/// that load a file by path are unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Pretrained {
    /// A safetensors or `.ot` file, as written in the experiment.
    Path(String),
    /// A name from `sweep weights list`, converted into the weights cache;
    /// `imagenet` (the default entry for the run's architecture) until the
    /// plan resolves it. The converted file's SHA-256 enters the run key.
    Weights { weights: String },
}

impl Pretrained {
    /// The catalogue name, for weights from the cache.
    pub fn weights_name(&self) -> Option<&str> {
        match self {
            Pretrained::Weights { weights } => Some(weights),
            Pretrained::Path(_) => None,
        }
    }
}

impl fmt::Display for Pretrained {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pretrained::Path(path) => f.write_str(path),
            Pretrained::Weights { weights } => f.write_str(weights),
        }
    }
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 10,
            batch_size: 128,
            eval_batch_size: 1024,
            optimizer: Optimizer::default(),
            early_stopping: None,
            reduce_lr_on_plateau: None,
            schedule: Schedule::Constant,
            checkpoint: Checkpoint::Best(Monitor {
                metric: MonitorMetric::ValLoss,
                mode: Mode::Min,
            }),
            augmentation: None,
            normalize: Normalize::ZeroOne,
            input_channels: None,
            input_size: None,
            threshold: 0.5,
            subset: None,
            pretrained: None,
            init: Init::Torch,
            batch_norm: BatchNormParams::default(),
            weighted_eval_loss: true,
            stem: Stem::Auto,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    Adam,
    Adamw,
    Sgd,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Optimizer {
    pub name: OptimizerKind,
    pub weight_decay: f64,
    /// SGD only.
    pub momentum: f64,
    /// SGD only.
    pub nesterov: bool,
    /// Adam/AdamW only.
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
}

impl Default for Optimizer {
    fn default() -> Self {
        Optimizer {
            name: OptimizerKind::Adam,
            weight_decay: 0.0,
            momentum: 0.0,
            nesterov: false,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

/// Whether a monitored metric improves by going down or up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Min,
    Max,
}

/// A per-epoch metric that `checkpoint`, `early_stopping` and
/// `reduce_lr_on_plateau` can watch.
///
/// The one list of such names: the spec accepts exactly these, and the
/// trainer reads each of them with an exhaustive `match`, so a name cannot be
/// accepted by one and unknown to the other. The strings are part of run
/// keys and `spec.json`; they never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitorMetric {
    TrainLoss,
    TrainAccuracy,
    TrainAuc,
    TrainSensitivity,
    TrainSpecificity,
    ValLoss,
    ValAccuracy,
    ValAuc,
    ValSensitivity,
    ValSpecificity,
    ValF1,
    ValBalancedAccuracy,
    /// ROC AUC of every label and sample as one binary vector (`y.ravel()`);
    /// binary and multi-label datasets only.
    ValFlatAuc,
    /// Accuracy of the flattened labels (the element-wise accuracy).
    ValFlatAccuracy,
    /// Support-weighted F1 over classes 0 and 1 of the flattened labels.
    ValFlatF1Weighted,
}

impl MonitorMetric {
    /// Every metric, in the order error messages list them.
    pub const ALL: [MonitorMetric; 15] = [
        MonitorMetric::TrainLoss,
        MonitorMetric::TrainAccuracy,
        MonitorMetric::TrainAuc,
        MonitorMetric::TrainSensitivity,
        MonitorMetric::TrainSpecificity,
        MonitorMetric::ValLoss,
        MonitorMetric::ValAccuracy,
        MonitorMetric::ValAuc,
        MonitorMetric::ValSensitivity,
        MonitorMetric::ValSpecificity,
        MonitorMetric::ValF1,
        MonitorMetric::ValBalancedAccuracy,
        MonitorMetric::ValFlatAuc,
        MonitorMetric::ValFlatAccuracy,
        MonitorMetric::ValFlatF1Weighted,
    ];

    /// The name as written in experiment files, `spec.json` and `history.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            MonitorMetric::TrainLoss => "train_loss",
            MonitorMetric::TrainAccuracy => "train_accuracy",
            MonitorMetric::TrainAuc => "train_auc",
            MonitorMetric::TrainSensitivity => "train_sensitivity",
            MonitorMetric::TrainSpecificity => "train_specificity",
            MonitorMetric::ValLoss => "val_loss",
            MonitorMetric::ValAccuracy => "val_accuracy",
            MonitorMetric::ValAuc => "val_auc",
            MonitorMetric::ValSensitivity => "val_sensitivity",
            MonitorMetric::ValSpecificity => "val_specificity",
            MonitorMetric::ValF1 => "val_f1",
            MonitorMetric::ValBalancedAccuracy => "val_balanced_accuracy",
            MonitorMetric::ValFlatAuc => "val_flat_auc",
            MonitorMetric::ValFlatAccuracy => "val_flat_accuracy",
            MonitorMetric::ValFlatF1Weighted => "val_flat_f1_weighted",
        }
    }

    /// Whether the metric reads the labels flattened into one binary vector,
    /// which only sigmoid outputs (binary and multi-label tasks) define.
    pub fn is_flattened(self) -> bool {
        matches!(
            self,
            MonitorMetric::ValFlatAuc
                | MonitorMetric::ValFlatAccuracy
                | MonitorMetric::ValFlatF1Weighted
        )
    }

    /// The metric's natural direction: losses go down, scores up.
    pub fn natural_mode(self) -> Mode {
        match self {
            MonitorMetric::TrainLoss | MonitorMetric::ValLoss => Mode::Min,
            MonitorMetric::TrainAccuracy
            | MonitorMetric::TrainAuc
            | MonitorMetric::TrainSensitivity
            | MonitorMetric::TrainSpecificity
            | MonitorMetric::ValAccuracy
            | MonitorMetric::ValAuc
            | MonitorMetric::ValSensitivity
            | MonitorMetric::ValSpecificity
            | MonitorMetric::ValF1
            | MonitorMetric::ValBalancedAccuracy
            | MonitorMetric::ValFlatAuc
            | MonitorMetric::ValFlatAccuracy
            | MonitorMetric::ValFlatF1Weighted => Mode::Max,
        }
    }
}

impl fmt::Display for MonitorMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a [`MonitorMetric`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown monitor metric `{0}`")]
pub struct UnknownMonitorMetric(pub String);

impl FromStr for MonitorMetric {
    type Err = UnknownMonitorMetric;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MonitorMetric::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| UnknownMonitorMetric(s.to_string()))
    }
}

/// Lets a test or a message compare a metric with the name it is written as.
impl PartialEq<&str> for MonitorMetric {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A metric to watch, such as `val_loss` or `val_auc`, and its direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Monitor {
    pub metric: MonitorMetric,
    pub mode: Mode,
}

/// Which epoch's weights a run keeps, tests and saves as `best.safetensors`.
///
/// Serialised as the word `"last"` or as a [`Monitor`] object, so the
/// monitor spellings of earlier files (`checkpoint: val_auc`,
/// `{metric, mode}`) keep their meaning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Checkpoint {
    /// The final epoch's weights, whatever the metrics say (a study that
    /// tested the model it had after its last epoch).
    Last(LastEpoch),
    /// The epoch with the best value of a monitored metric.
    Best(Monitor),
}

/// The word `last` in [`Checkpoint::Last`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LastEpoch {
    Last,
}

impl Checkpoint {
    /// The checkpoint that keeps the final epoch.
    pub const LAST: Checkpoint = Checkpoint::Last(LastEpoch::Last);

    /// The monitored metric, unless the last epoch is kept.
    pub fn monitor(&self) -> Option<&Monitor> {
        match self {
            Checkpoint::Last(_) => None,
            Checkpoint::Best(m) => Some(m),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStopping {
    pub monitor: Monitor,
    pub patience: u32,
    pub min_delta: f64,
    pub restore_best: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReduceLrOnPlateau {
    pub monitor: Monitor,
    pub factor: f64,
    pub patience: u32,
    pub min_lr: f64,
    pub cooldown: u32,
    pub min_delta: f64,
}

/// A learning-rate schedule applied per epoch (besides ReduceLROnPlateau).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Schedule {
    Constant,
    Step {
        step_size: u32,
        gamma: f64,
    },
    Cosine {
        t_max: u32,
        eta_min: f64,
    },
    /// The learning rate times `gamma` at each milestone epoch, as PyTorch's
    /// `MultiStepLR` stepped once per epoch: epoch `e` (counted from 1)
    /// trains at `lr · gamma^(number of milestones < e)`.
    Multistep {
        milestones: Vec<u32>,
        gamma: f64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Augmentation {
    /// Maximum rotation in degrees (uniform in ±).
    pub rotation: f64,
    /// Maximum shift as a fraction of the image size.
    pub shift: f64,
    /// Maximum zoom as a fraction (0.1 = 90%..110%).
    pub zoom: f64,
    /// Probability of a horizontal flip.
    pub hflip: f64,
}

/// Pixel values fed to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Normalize {
    /// `x / 255`.
    #[serde(rename = "0-1")]
    ZeroOne,
    /// `x / 127.5 - 1`.
    #[serde(rename = "-1-1")]
    MinusOneOne,
    /// `(x / 255 - mean[c]) / std[c]` per channel (`normalize: imagenet` is
    /// written as ImageNet's numbers, so both spellings are one run).
    #[serde(rename = "mean_std")]
    MeanStd { mean: Vec<f64>, std: Vec<f64> },
}

impl Normalize {
    /// ImageNet's per-channel mean (RGB), as torchvision's pretrained models expect.
    pub const IMAGENET_MEAN: [f64; 3] = [0.485, 0.456, 0.406];
    /// ImageNet's per-channel standard deviation (RGB).
    pub const IMAGENET_STD: [f64; 3] = [0.229, 0.224, 0.225];

    /// How many channels the model input must have, when the option fixes it.
    pub fn channels(&self) -> Option<usize> {
        match self {
            Normalize::MeanStd { mean, .. } => Some(mean.len()),
            Normalize::ZeroOne | Normalize::MinusOneOne => None,
        }
    }
}

/// Whose default initialisation a model's convolutions, dense layers and
/// batch norms start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// PyTorch's per-layer default: weights and biases uniform in
    /// `±1/sqrt(fan_in)` (`kaiming_uniform_(a=sqrt(5))`); batch norm 1, 0.
    Torch,
    /// Keras' default: Glorot-uniform weights (`±sqrt(6/(fan_in+fan_out))`),
    /// zero biases; batch norm 1, 0.
    Keras,
    /// tch's default, the trainer's only one before this option existed:
    /// Kaiming-uniform weights (`±sqrt(6/fan_in)`), zero conv biases, dense
    /// biases in `±1/sqrt(fan_in)`; batch norm 1, 0.
    Tch,
}

impl Init {
    /// Every option, in the order messages list them.
    pub const ALL: [Init; 3] = [Init::Torch, Init::Keras, Init::Tch];

    /// The name as written in experiment files.
    pub fn as_str(self) -> &'static str {
        match self {
            Init::Torch => "torch",
            Init::Keras => "keras",
            Init::Tch => "tch",
        }
    }
}

/// Batch-norm running-statistics momentum and epsilon, in PyTorch's
/// convention: `running = (1 - momentum) · running + momentum · batch`
/// (Keras' `momentum=0.99` is 0.01 here).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchNormParams {
    pub momentum: f64,
    pub eps: f64,
}

impl Default for BatchNormParams {
    /// PyTorch's (and tch's) defaults.
    fn default() -> Self {
        BatchNormParams {
            momentum: 0.1,
            eps: 1e-5,
        }
    }
}

/// The first layers of the ResNets and DenseNets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stem {
    /// `small` up to 64 px, `standard` above.
    Auto,
    /// 3x3 stride-1 convolution without max pooling (CIFAR/MedMNIST style).
    Small,
    /// torchvision's 7x7 stride-2 convolution and 3x3/2 max pooling, so
    /// ImageNet weights load at any input size.
    Standard,
}

impl Stem {
    /// Architectures that have a stem to choose.
    pub const ARCHS: [&'static str; 6] = [
        "resnet18",
        "resnet50",
        "resnet152",
        "densenet121",
        "densenet161",
        "densenet201",
    ];
}

/// How multi-class cross-entropy (or binary BCE) weighs classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClassWeighting {
    None,
    /// `n / (k * count_c)` from the training fold.
    Balanced,
    /// One weight per class, in class order.
    Explicit(Vec<f64>),
}

/// Weight of positive labels in BCE-with-logits (binary and multi-label only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PosWeight {
    /// Not applicable (multi-class) or not set (weight 1).
    None,
    Scalar(f64),
    PerLabel(Vec<f64>),
    /// negatives / positives per label, from the training fold.
    Auto,
}

/// How train and validation data are split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Folds {
    /// The dataset's official train/val split.
    None,
    /// `k` folds; each run trains on `k - 1` of them and validates on the one
    /// held out. What is folded is [`FoldScope`].
    Kfold {
        k: u32,
        stratified: bool,
        split_seed: u64,
        /// Left out of `spec.json` (and so of run keys) when it is the
        /// default, which keeps the keys of every run from before it existed.
        #[serde(default, skip_serializing_if = "FoldScope::is_train_val")]
        over: FoldScope,
    },
}

/// Which samples k-fold cross-validation divides into folds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FoldScope {
    /// Train+val merged and folded; the official test split is untouched and
    /// scores every fold, so fold results compare with the official split's.
    #[default]
    TrainVal,
    /// Train, val and test merged and folded: each fold's held-out part is
    /// both its validation and its test set. This is cross-validation as
    /// scikit-learn's `KFold` over a whole dataset does it, for studies that
    /// report the mean over held-out folds.
    All,
}

impl FoldScope {
    fn is_train_val(&self) -> bool {
        *self == FoldScope::TrainVal
    }
}

impl Folds {
    /// How many runs one configuration becomes.
    pub fn count(&self) -> u32 {
        match self {
            Folds::None => 1,
            Folds::Kfold { k, .. } => *k,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_monitor_metric_round_trips_its_name() {
        for m in MonitorMetric::ALL {
            assert_eq!(m.as_str().parse::<MonitorMetric>(), Ok(m));
            assert_eq!(m.to_string(), m.as_str());
            assert_eq!(serde_json::to_value(m).unwrap(), json!(m.as_str()));
            let back: MonitorMetric = serde_json::from_value(json!(m.as_str())).unwrap();
            assert_eq!(back, m);
        }
        assert_eq!(
            "val_acc".parse::<MonitorMetric>(),
            Err(UnknownMonitorMetric("val_acc".into()))
        );
        assert!(serde_json::from_value::<MonitorMetric>(json!("test_auc")).is_err());
    }

    #[test]
    fn monitor_metric_names_are_the_ones_in_run_keys() {
        let names = MonitorMetric::ALL.map(MonitorMetric::as_str);
        assert_eq!(
            names,
            [
                "train_loss",
                "train_accuracy",
                "train_auc",
                "train_sensitivity",
                "train_specificity",
                "val_loss",
                "val_accuracy",
                "val_auc",
                "val_sensitivity",
                "val_specificity",
                "val_f1",
                "val_balanced_accuracy",
                "val_flat_auc",
                "val_flat_accuracy",
                "val_flat_f1_weighted",
            ]
        );
    }

    #[test]
    fn flattened_metrics_are_the_flat_names() {
        for m in MonitorMetric::ALL {
            assert_eq!(m.is_flattened(), m.as_str().contains("_flat_"), "{m}");
        }
    }

    #[test]
    fn losses_are_minimised_and_scores_maximised() {
        for m in MonitorMetric::ALL {
            let expected = if m.as_str().ends_with("loss") {
                Mode::Min
            } else {
                Mode::Max
            };
            assert_eq!(m.natural_mode(), expected, "{m}");
        }
    }
}
