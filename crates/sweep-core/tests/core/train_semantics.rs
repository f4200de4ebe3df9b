//! The framework-semantics training options (`init`, `batch_norm`,
//! `weighted_eval_loss`, `checkpoint: last`, multi-step schedules,
//! per-channel `normalize`, `stem`): how they resolve, that each is part of
//! the run key, the diagnostics for misuse, and what becomes of results a
//! previous trainer version finished.

use std::path::Path;

use serde_json::json;
use sweep_core::expand::expand;
use sweep_core::fingerprints::{Fingerprint, FingerprintError, Fingerprints};
use sweep_core::hash::{KeyInput, TRAINER_VERSION};
use sweep_core::plan::{PlanStatus, plan};
use sweep_core::run_spec::RunSpec;
use sweep_core::spec::load_str;
use sweep_core::store::{METRICS_FILE, RunStatus, SPEC_FILE, SpecFile, Store, write_atomic};
use sweep_core::train_options::{
    BatchNormParams, Checkpoint, Init, Mode, MonitorMetric, Normalize, Schedule, Stem,
};
use sweep_data::catalog::DatasetRef;

const BASE: &str = "
name: t
grid:
  dataset: synthetic:breastmnist
  arch: resnet18
train:
  epochs: 10
";

fn runs(yaml: &str) -> Vec<RunSpec> {
    let exp = load_str(yaml, Path::new("t.yaml")).unwrap_or_else(|e| panic!("{e}"));
    expand(&exp, false)
}

fn key(yaml: &str) -> String {
    let run = runs(yaml).remove(0);
    KeyInput::new(run, "f".repeat(64)).key().to_string()
}

/// The diagnostics of an invalid file, one `file:line:col: field: message` each.
fn errors(yaml: &str) -> Vec<String> {
    match load_str(yaml, Path::new("t.yaml")) {
        Ok(_) => panic!("accepted:\n{yaml}"),
        Err(e) => e.lines(),
    }
}

#[test]
fn defaults_are_pytorch_semantics() {
    let train = runs(BASE).remove(0).train;
    assert_eq!(train.init, Init::Torch);
    assert_eq!(
        train.batch_norm,
        BatchNormParams {
            momentum: 0.1,
            eps: 1e-5
        }
    );
    assert!(train.weighted_eval_loss);
    assert_eq!(train.stem, Stem::Auto);
    assert_eq!(
        train.checkpoint.monitor().map(|m| (m.metric, m.mode)),
        Some((MonitorMetric::ValLoss, Mode::Min))
    );
}

#[test]
fn every_option_resolves_and_changes_the_key() {
    let base = key(BASE);
    let cases = [
        ("init: keras", json!("keras")),
        ("init: tch", json!("tch")),
        (
            "batch_norm: {momentum: 0.01, eps: 1e-3}",
            json!({"momentum": 0.01, "eps": 0.001}),
        ),
        ("weighted_eval_loss: false", json!(false)),
        ("checkpoint: last", json!("last")),
        (
            "schedule: {multistep: {milestones: [5, 8], gamma: 0.5}}",
            json!({"multistep": {"milestones": [5, 8], "gamma": 0.5}}),
        ),
        (
            "normalize: {mean: [0.5], std: [0.25]}",
            json!({"mean_std": {"mean": [0.5], "std": [0.25]}}),
        ),
        ("stem: standard", json!("standard")),
        ("stem: small", json!("small")),
    ];
    for (line, want) in cases {
        let yaml = format!("{BASE}  {line}\n");
        let run = runs(&yaml).remove(0);
        let field = line.split(':').next().unwrap();
        let got = serde_json::to_value(&run.train).unwrap()[field].clone();
        assert_eq!(got, want, "{line}");
        assert_ne!(key(&yaml), base, "{line} must change the key");
    }
}

#[test]
fn options_are_grid_axes_too() {
    let yaml = "
name: t
grid:
  dataset: synthetic:breastmnist
  arch: resnet18
  init: [torch, keras, tch]
  batch_norm.momentum: [0.1, 0.01]
  checkpoint: [last, val_auc]
";
    let r = runs(yaml);
    assert_eq!(r.len(), 12);
    assert_eq!(r[0].train.init, Init::Torch);
    assert_eq!(r[4].train.init, Init::Keras);
    assert_eq!(r[1].train.batch_norm.momentum, 0.1);
    assert_eq!(r[2].train.batch_norm.momentum, 0.01);
    assert_eq!(r[0].train.checkpoint, Checkpoint::LAST);
    assert_eq!(
        r[1].train.checkpoint.monitor().map(|m| m.metric),
        Some(MonitorMetric::ValAuc)
    );
}

#[test]
fn earlier_checkpoint_spellings_keep_their_meaning() {
    for (line, metric, mode) in [
        ("checkpoint: val_auc", MonitorMetric::ValAuc, Mode::Max),
        (
            "checkpoint: {metric: val_loss, mode: min}",
            MonitorMetric::ValLoss,
            Mode::Min,
        ),
        (
            "checkpoint: {metric: val_accuracy}",
            MonitorMetric::ValAccuracy,
            Mode::Max,
        ),
    ] {
        let train = runs(&format!("{BASE}  {line}\n")).remove(0).train;
        let monitor = train
            .checkpoint
            .monitor()
            .unwrap_or_else(|| panic!("{line}"));
        assert_eq!((monitor.metric, monitor.mode), (metric, mode), "{line}");
    }
}

#[test]
fn imagenet_is_its_mean_and_std() {
    let rgb = "
name: t
grid:
  dataset: synthetic:dermamnist
  arch: resnet18
";
    let word = format!("{rgb}train:\n  normalize: imagenet\n");
    let numbers = format!(
        "{rgb}train:\n  normalize: {{mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}}\n"
    );
    let run = runs(&word).remove(0);
    assert_eq!(
        run.train.normalize,
        Normalize::MeanStd {
            mean: Normalize::IMAGENET_MEAN.to_vec(),
            std: Normalize::IMAGENET_STD.to_vec(),
        }
    );
    assert_eq!(key(&word), key(&numbers));
    // Grey replicated to three channels takes ImageNet's numbers too.
    let grey = format!("{BASE}  normalize: imagenet\n  input_channels: 3\n");
    assert_eq!(runs(&grey)[0].train.normalize, run.train.normalize);
}

#[test]
fn multistep_schedule_resolves_with_default_gamma() {
    let yaml = format!("{BASE}  schedule: {{multistep: {{milestones: [3, 6]}}}}\n");
    assert_eq!(
        runs(&yaml)[0].train.schedule,
        Schedule::Multistep {
            milestones: vec![3, 6],
            gamma: 0.1
        }
    );
}

#[test]
fn misuse_is_reported_at_the_field() {
    let cases: [(&str, &str); 11] = [
        (
            "  init: kears\n",
            "t.yaml:8:9: train.init: unknown value `kears`; expected one of `torch`, `keras`, `tch`; did you mean `keras`?",
        ),
        (
            "  schedule: {multistep: {milestones: [5, 5]}}\n",
            "t.yaml:8:42: train.schedule.multistep.milestones[1]: milestones must be strictly increasing: 5 follows 5",
        ),
        (
            "  schedule: {multistep: {milestones: [7, 3]}}\n",
            "t.yaml:8:42: train.schedule.multistep.milestones[1]: milestones must be strictly increasing: 3 follows 7",
        ),
        (
            "  schedule: {multistep: {milestones: [5, 10]}}\n",
            "t.yaml:8:38: train.schedule.multistep.milestones: milestone 10 is not before the last epoch (epochs: 10): the learning rate changes after epoch 10, so it would never take effect",
        ),
        (
            "  schedule: {multistep: {gamma: 0.5}}\n",
            "t.yaml:8:25: train.schedule.multistep.milestones: missing required key `milestones` (epochs after which the learning rate is multiplied by gamma)",
        ),
        (
            "  batch_norm: {momentum: 0}\n",
            "t.yaml:8:26: train.batch_norm.momentum: expected a number in (0, 1], found 0",
        ),
        (
            "  batch_norm: {momentun: 0.1}\n",
            "t.yaml:8:16: train.batch_norm.momentun: unknown key `momentun`; expected one of momentum, eps; did you mean `momentum`?",
        ),
        (
            "  normalize: imagenet\n",
            "t.yaml:8:14: train.normalize: 3 mean/std values but `synthetic:breastmnist` feeds the model 1 channel(s) (set `input_channels: 3` to replicate grey to RGB)",
        ),
        (
            "  normalize: {mean: [0.5, 0.5, 0.5], std: [0.5, 0, 0.5]}\n",
            "t.yaml:8:49: train.normalize.std[1]: expected a standard deviation > 0, found 0",
        ),
        (
            "  checkpoint: lats\n",
            "t.yaml:8:15: train.checkpoint: unknown value `lats`; expected one of `last`, `train_loss`, `train_accuracy`, `train_auc`, `train_sensitivity`, `train_specificity`, `val_loss`, `val_accuracy`, `val_auc`, `val_sensitivity`, `val_specificity`, `val_f1`, `val_balanced_accuracy`, `val_flat_auc`, `val_flat_accuracy`, `val_flat_f1_weighted`; did you mean `last`?",
        ),
        (
            "  weighted_eval_loss: 0\n",
            "t.yaml:8:23: train.weighted_eval_loss: expected true or false, found 0",
        ),
    ];
    for (line, want) in cases {
        let got = errors(&format!("{BASE}{line}"));
        assert_eq!(got, vec![want.to_string()], "{line}");
    }
}

#[test]
fn milestones_are_checked_against_epochs_on_an_axis() {
    let yaml = "
name: t
grid:
  dataset: synthetic:breastmnist
  arch: resnet18
  epochs: [100, 60]
train:
  schedule: {multistep: {milestones: [50, 75]}}
";
    assert_eq!(
        errors(yaml),
        [
            "t.yaml:8:38: train.schedule.multistep.milestones: milestone 75 is not before the last epoch (epochs: 60): the learning rate changes after epoch 75, so it would never take effect"
        ]
    );
}

#[test]
fn a_stem_only_where_there_is_one_to_choose() {
    let yaml = "
name: t
grid:
  dataset: synthetic:breastmnist
  arch: [resnet18, chest_cnn]
train:
  stem: standard
";
    assert_eq!(
        errors(yaml),
        [
            "t.yaml:7:9: train.stem: `chest_cnn` has no stem choice; `stem` applies to resnet18, resnet50, resnet152, densenet121, densenet161, densenet201 (leave it `auto`)"
        ]
    );
    let densenet = "
name: t
grid:
  dataset: synthetic:breastmnist
  arch: [resnet152, densenet121]
  stem: [small, standard]
";
    assert_eq!(
        errors(densenet),
        [
            "t.yaml:6:9: grid.stem: `densenet121` with the standard stem needs images of at least 29 px (the stem quarters 28 px and its three transitions halve what is left to nothing); use `input_size` or the small stem"
        ]
    );
    let resized = format!("{densenet}train:\n  input_size: 32\n");
    assert_eq!(runs(&resized).len(), 4);
}

struct Fixed;
impl Fingerprints for Fixed {
    fn fingerprint(&self, _: &DatasetRef, _: &Path) -> Result<Fingerprint, FingerprintError> {
        Ok(("0".repeat(64), None))
    }
}

/// A run finished by trainer version 3 keeps its folder and numbers, but
/// its key is not the key of the same spec under this trainer: the plan
/// lists the run as stale, naming the version that finished it (so `sweep
/// status` and `sweep report` never show version-3 numbers as this
/// trainer's, nor the run as never run), and the old folder is left alone.
#[test]
fn results_of_trainer_version_3_are_never_taken_for_this_version() {
    assert_eq!(TRAINER_VERSION, "4");
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::new(tmp.path());
    let exp = load_str(BASE, Path::new("t.yaml")).unwrap();
    let fresh = plan(&exp, Default::default(), tmp.path(), &store, &Fixed);
    let run = &fresh.runs[0];
    let mut old = run.input.clone().unwrap();
    old.trainer_version = "3".into();
    let old_key = old.key();
    assert_ne!(Some(&old_key), run.key.as_ref());
    let dir = store.run_dir(&old_key);
    std::fs::create_dir_all(&dir).unwrap();
    let spec = SpecFile {
        key: old_key.clone(),
        input: old,
        data_file: None,
        experiments: vec!["t.yaml".into()],
        label: None,
        workdir: None,
    };
    // Version 3 wrote no fields for the options it did not have.
    let mut v3 = serde_json::to_value(&spec).unwrap();
    let train = v3["input"]["run"]["train"].as_object_mut().unwrap();
    for added in ["init", "batch_norm", "weighted_eval_loss", "stem"] {
        train.remove(added);
    }
    let v3 = serde_json::to_vec(&v3).unwrap();
    write_atomic(&dir.join(SPEC_FILE), &v3).unwrap();
    write_atomic(&dir.join(METRICS_FILE), b"{\"test_auc\": 0.9}").unwrap();
    Store::complete(&dir, &old_key, &[SPEC_FILE, METRICS_FILE]).unwrap();

    let replanned = plan(&exp, Default::default(), tmp.path(), &store, &Fixed);
    assert_eq!(replanned.runs.len(), 1);
    let PlanStatus::Store(RunStatus::Stale(why)) = &replanned.runs[0].status else {
        panic!("expected stale, got {:?}", replanned.runs[0].status);
    };
    assert_eq!(
        why,
        &format!(
            "finished by trainer version 3 ({}); this is version 4",
            &old_key.as_str()[..12]
        )
    );
    assert_eq!(store.status(&old_key), RunStatus::Done);

    // A version-3 run of another configuration stands for nothing here.
    let other = load_str(
        &BASE.replace("epochs: 10", "epochs: 11"),
        Path::new("t.yaml"),
    )
    .unwrap();
    let elsewhere = plan(&other, Default::default(), tmp.path(), &store, &Fixed);
    assert_eq!(
        elsewhere.runs[0].status,
        PlanStatus::Store(RunStatus::Pending)
    );
    assert_eq!(std::fs::read(dir.join(SPEC_FILE)).unwrap(), v3);
}
