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
    /// The experiment runs training commands of its own (`worker:`), so
    /// `arch` may also name the models they train.
    named_models: bool,
    /// The experiment file's folder, where a `worker`'s program and code
    /// are checked; `None` where no file is being read (an `--only` value).
    folder: Option<std::path::PathBuf>,
}

impl Context {
    /// A context in which `dataset` also accepts these image-folder names.
    pub fn with_image_folders(image_folders: Vec<String>) -> Context {
        Context {
            image_folders,
            ..Context::default()
        }
    }

    /// The image folders of a validated experiment.
    pub fn of_experiment(exp: &crate::experiment::Experiment) -> Context {
        Context::with_image_folders(
            exp.image_folders
                .iter()
                .map(|f| f.def.name.clone())
                .collect(),
        )
        .with_named_models(exp.runs_own_commands())
    }

    /// This context for an experiment that runs its own training commands
    /// (`worker:`): `arch` then accepts any model name.
    pub fn with_named_models(mut self, named_models: bool) -> Context {
        self.named_models = named_models;
        self
    }

    /// This context reading the file in `folder`, where a `worker`'s program
    /// and code must exist.
    pub fn in_folder(mut self, folder: &std::path::Path) -> Context {
        self.folder = Some(folder.to_path_buf());
        self
    }

    /// Whether `arch` may name a model a training command defines.
    pub fn named_models(&self) -> bool {
        self.named_models
    }

    /// The experiment file's folder, when a file is being read.
    pub fn folder(&self) -> Option<&std::path::Path> {
        self.folder.as_deref()
    }

    /// Image-folder dataset names, as declared (without `synthetic:`).
    pub fn image_folders(&self) -> &[String] {
        &self.image_folders
    }
}
