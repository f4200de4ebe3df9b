//! What a field's value may name besides the built-in vocabulary: the
//! datasets the experiment declares itself under `data.image_folders`.
//!
//! Passed to the field converters as an argument, so reading a value depends
//! only on what the caller hands over: the document being validated, an
//! `--only` value checked against one experiment, or a `--where` value
//! checked against the runs being reported.

/// Names an experiment declares that field values may refer to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    image_folders: Vec<String>,
}

impl Context {
    /// A context in which `dataset` also accepts these image-folder names.
    pub fn with_image_folders(image_folders: Vec<String>) -> Context {
        Context { image_folders }
    }

    /// The image folders of a validated experiment.
    pub fn of_experiment(exp: &crate::experiment::Experiment) -> Context {
        Context::with_image_folders(
            exp.image_folders
                .iter()
                .map(|f| f.def.name.clone())
                .collect(),
        )
    }

    /// Image-folder dataset names, as declared (without `synthetic:`).
    pub fn image_folders(&self) -> &[String] {
        &self.image_folders
    }
}
