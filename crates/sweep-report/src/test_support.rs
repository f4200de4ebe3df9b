//! Run specs for unit tests, written as a JSON patch over one base spec so a
//! test states only what it varies.

use serde_json::{Value, json};
use sweep_core::run_spec::RunSpec;
use sweep_core::train_options::TrainOptions;

/// A synthetic ChestMNIST run (2 folds, fold 0, seed 0) with `patch` merged
/// in; `train` entries are merged field by field.
pub(crate) fn spec(patch: &str) -> RunSpec {
    let mut base = json!({
        "dataset": "synthetic:chestmnist",
        "arch": "chest_cnn",
        "lr": 0.001,
        "class_weighting": "none",
        "pos_weight": "none",
        "folds": {"kfold": {"k": 2, "stratified": true, "split_seed": 0}},
        "fold": 0,
        "seed": 0,
        "train": serde_json::to_value(TrainOptions::default()).unwrap(),
    });
    let patch: Value = serde_json::from_str(patch).expect("test patch is JSON");
    for (k, v) in patch.as_object().expect("test patch is an object") {
        if k == "train" {
            for (tk, tv) in v.as_object().unwrap() {
                base["train"][tk] = tv.clone();
            }
        } else {
            base[k] = v.clone();
        }
    }
    serde_json::from_value(base).expect("test spec deserialises")
}
