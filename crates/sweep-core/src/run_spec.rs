//! One fully resolved run: the unit that is hashed, cached, scheduled and trained.
//!
//! A `RunSpec` has every default filled in, so it alone determines what the
//! trainer does. Its JSON (field order fixed by this declaration, numbers in
//! shortest round-trip form) is the canonical serialisation hashed into the
//! run's key by [`crate::hash`].

use serde::{Deserialize, Serialize};
use sweep_data::catalog::DatasetRef;
use sweep_data::image_folder::ImageFolderDef;

use crate::train_options::{ClassWeighting, Folds, PosWeight, TrainOptions};
use crate::worker_command::WorkerCommand;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// Canonical dataset reference (`chestmnist`, `retinamnist_128`, `synthetic:dermamnist`).
    pub dataset: String,
    pub arch: String,
    pub lr: f64,
    pub class_weighting: ClassWeighting,
    pub pos_weight: PosWeight,
    pub folds: Folds,
    /// Which fold is validation (0-based); `None` with the official split.
    pub fold: Option<u32>,
    pub seed: u64,
    pub train: TrainOptions,
    /// The definition of an image-folder dataset (`data.image_folders`);
    /// absent for MedMNIST, which keeps older keys unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_folder: Option<ImageFolderDef>,
    /// The user's own training command (`worker:`), which trains this run
    /// instead of sweep's trainer; absent for built-in runs, which keeps
    /// their keys unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<WorkerCommand>,
}

impl RunSpec {
    /// The parsed dataset reference. Validation guarantees it parses.
    pub fn dataset_ref(&self) -> DatasetRef {
        match &self.image_folder {
            Some(def) => def.dataset_ref(self.dataset.starts_with("synthetic:")),
            None => DatasetRef::parse(&self.dataset).expect("validated dataset name"),
        }
    }

    /// Short human text for the weighting columns of `plan`/`status`.
    pub fn weighting_label(&self) -> String {
        match &self.class_weighting {
            ClassWeighting::None => "none".into(),
            ClassWeighting::Balanced => "balanced".into(),
            ClassWeighting::Explicit(w) => format!("[{} weights]", w.len()),
        }
    }

    pub fn pos_weight_label(&self) -> String {
        match &self.pos_weight {
            PosWeight::None => "-".into(),
            PosWeight::Scalar(v) => format_number(*v),
            PosWeight::PerLabel(w) => format!("[{} weights]", w.len()),
            PosWeight::Auto => "auto".into(),
        }
    }

    pub fn fold_label(&self) -> String {
        match (&self.folds, self.fold) {
            (Folds::Kfold { k, .. }, Some(i)) => format!("{}/{k}", i + 1),
            _ if self.image_folder.is_some() => "hold-out".into(),
            _ => "official".into(),
        }
    }

    /// The arrays of an image-folder dataset, from the file `sweep run`
    /// decoded the folder into once (`data_file`), split as the folder's
    /// definition says. Shared by sweep's trainer and the adapter of
    /// training commands, so both see the same samples.
    pub fn decoded_image_folder(
        &self,
        data_file: Option<&std::path::Path>,
    ) -> Result<sweep_data::medmnist::MedmnistArrays, String> {
        let path = data_file.ok_or("spec.json names no decoded images for an image folder")?;
        let def = self
            .image_folder
            .as_ref()
            .ok_or("spec.json has an image-folder dataset without its definition")?;
        let all = sweep_data::image_folder::load_decoded(path, def)?;
        Ok(sweep_data::image_folder::split(all, def))
    }
}

/// Prints numbers the way people write them in papers: `0.001`, `1e-05`.
pub fn format_number(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e6) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}
