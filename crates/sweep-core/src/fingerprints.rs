//! What identifies a run's data in its key: the sha256 of a `.npz` file
//! (memoised by path, size and mtime so re-planning never re-reads an
//! unchanged file), a description hash for generated datasets, or the content
//! fingerprint of an image folder (memoised by its listing); and, for runs
//! that start from cached pretrained weights, the converted file's sha256.
//!
//! [`plan`](crate::plan::plan) asks a [`Fingerprints`] for each dataset once;
//! [`DataFingerprints`] is the one `sweep` uses, tests and benches supply
//! fixed ones. A dataset that cannot be fingerprinted makes its runs
//! "no data" runs, with the [`FingerprintError`]'s message as the reason.

use std::path::{Path, PathBuf};

use sweep_data::catalog::{DatasetRef, Source};
use sweep_data::error::DataError;
use sweep_data::image_folder::ImageFolderDef;
use sweep_data::weights::{WeightsCache, catalog};

use crate::run_spec::RunSpec;
use crate::train_options::Pretrained;

/// The third thing a key names besides data and weights: the code of a
/// run's own training command (`worker:`), file by file.
pub use crate::code_fingerprint::{CodeFile, code_fingerprint};

/// A dataset's fingerprint and, for data read from disk, its file or folder.
pub type Fingerprint = (String, Option<PathBuf>);

/// Why a dataset has no fingerprint (and its runs no key).
#[derive(Debug, thiserror::Error)]
pub enum FingerprintError {
    #[error(
        "{} not found; get it with `sweep data pull {dataset} --data-dir {}` (or `sweep run --pull`), or point --data-dir at a folder that has it",
        path.display(),
        data_root.display()
    )]
    MissingFile {
        path: PathBuf,
        dataset: String,
        data_root: PathBuf,
    },
    #[error("image folder `{dataset}` is not declared under data.image_folders")]
    UndeclaredFolder { dataset: String },
    #[error(
        "image folder {} not found; put the images there (one sub-folder per class), or point --data-dir at the folder that holds `{}`",
        folder.display(),
        folder.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned())
    )]
    MissingFolder { folder: PathBuf },
    /// The file exists but could not be read (the message names it).
    #[error(transparent)]
    Unreadable(#[from] DataError),
    /// The image folder's layout is wrong (the message names the path).
    #[error("{0}")]
    FolderLayout(String),
    /// The pretrained weights a run names are unknown, missing or changed
    /// (the message names them and the pull command).
    #[error("{0}")]
    Weights(String),
}

/// Supplies the content fingerprint of a dataset (and where its file is).
pub trait Fingerprints: Sync {
    /// `Ok((fingerprint, file))`, where `file` is `None` for generated data.
    fn fingerprint(
        &self,
        dataset: &DatasetRef,
        data_root: &Path,
    ) -> Result<Fingerprint, FingerprintError>;

    /// Resolves `train.pretrained` of `spec` for its architecture
    /// (`imagenet` becomes the catalogue's default name) and, for cached
    /// weights, returns the converted file's sha256 (which enters the key).
    /// The default reads the weights cache named by the environment
    /// ([`WeightsCache::from_env`]).
    fn weights(&self, spec: &mut RunSpec) -> Result<Option<String>, FingerprintError> {
        resolve_weights(spec, &WeightsCache::from_env())
    }

    /// The same for an image-folder dataset at `folder`; the default hashes
    /// the images without a memo.
    fn folder_fingerprint(
        &self,
        def: &ImageFolderDef,
        folder: &Path,
    ) -> Result<Fingerprint, FingerprintError> {
        let print = sweep_data::image_folder::folder_fingerprint(folder, def, None)
            .map_err(FingerprintError::FolderLayout)?;
        Ok((print, Some(folder.to_path_buf())))
    }
}

/// [`Fingerprints::weights`] against `cache`: rewrites `imagenet` to the
/// catalogue name for the run's architecture, then checks the converted file
/// against its record.
pub fn resolve_weights(
    spec: &mut RunSpec,
    cache: &WeightsCache,
) -> Result<Option<String>, FingerprintError> {
    let Some(name) = spec
        .train
        .pretrained
        .as_ref()
        .and_then(Pretrained::weights_name)
    else {
        return Ok(None);
    };
    let entries = catalog::from_env().map_err(|e| FingerprintError::Weights(e.to_string()))?;
    let name = match catalog::resolve(&entries, name, &spec.arch) {
        Ok(entry) => entry.name.clone(),
        // Not a catalogue name: weights imported under a name of their own.
        Err(why) => match cache.read_record(name) {
            Ok(Some(record)) if name != catalog::IMAGENET => {
                if record.arch != catalog::weights_arch(&spec.arch) {
                    return Err(FingerprintError::Weights(format!(
                        "weights `{name}` are for `{}`, not `{}`",
                        record.arch, spec.arch
                    )));
                }
                name.to_string()
            }
            _ => return Err(FingerprintError::Weights(why)),
        },
    };
    let (_, sha256) = cache
        .usable(&name)
        .map_err(|e| FingerprintError::Weights(e.to_string()))?;
    spec.train.pretrained = Some(Pretrained::Weights { weights: name });
    Ok(Some(sha256))
}

/// Fingerprints datasets under a data root, memoising in `cache_dir`.
pub struct DataFingerprints {
    pub cache_dir: Option<PathBuf>,
}

impl Fingerprints for DataFingerprints {
    fn fingerprint(
        &self,
        dataset: &DatasetRef,
        data_root: &Path,
    ) -> Result<Fingerprint, FingerprintError> {
        match dataset.source {
            Source::Synthetic => Ok((
                sweep_data::fingerprint::synthetic_fingerprint(
                    dataset,
                    Some(sweep_data::synthetic::TRAINING_SCALE),
                    sweep_data::synthetic::TRAINING_SEED,
                ),
                None,
            )),
            Source::ImageFolder => Err(FingerprintError::UndeclaredFolder {
                dataset: dataset.to_string(),
            }),
            Source::File => {
                let path = data_root.join(dataset.file_name());
                if !path.exists() {
                    return Err(FingerprintError::MissingFile {
                        path,
                        dataset: dataset.to_string(),
                        data_root: data_root.to_path_buf(),
                    });
                }
                let print =
                    sweep_data::fingerprint::fingerprint_cached(&path, self.cache_dir.as_deref())?;
                let abs = std::fs::canonicalize(&path).unwrap_or(path);
                Ok((print, Some(abs)))
            }
        }
    }

    fn folder_fingerprint(
        &self,
        def: &ImageFolderDef,
        folder: &Path,
    ) -> Result<Fingerprint, FingerprintError> {
        if !folder.is_dir() {
            return Err(FingerprintError::MissingFolder {
                folder: folder.to_path_buf(),
            });
        }
        let print =
            sweep_data::image_folder::folder_fingerprint(folder, def, self.cache_dir.as_deref())
                .map_err(FingerprintError::FolderLayout)?;
        let abs = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
        Ok((print, Some(abs)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_names_the_path_and_the_pull_command() {
        let tmp = tempfile::tempdir().unwrap();
        let dataset = DatasetRef::parse("breastmnist").unwrap();
        let err = DataFingerprints { cache_dir: None }
            .fingerprint(&dataset, tmp.path())
            .unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, FingerprintError::MissingFile { .. }),
            "{err:?}"
        );
        assert!(text.contains("breastmnist.npz not found"), "{text}");
        assert!(
            text.contains(&format!(
                "`sweep data pull breastmnist --data-dir {}`",
                tmp.path().display()
            )),
            "{text}"
        );
    }

    #[test]
    fn a_missing_image_folder_names_the_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let folder = tmp.path().join("my_xrays");
        let def = ImageFolderDef {
            name: "my_xrays".into(),
            labelling: sweep_data::image_folder::Labelling::ClassFolders,
            classes: vec!["normal".into(), "pneumonia".into()],
            size: 28,
            channels: 1,
            split: sweep_data::image_folder::RatioSplit::default(),
        };
        let err = DataFingerprints { cache_dir: None }
            .folder_fingerprint(&def, &folder)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "image folder {} not found; put the images there (one sub-folder per class), or point --data-dir at the folder that holds `my_xrays`",
                folder.display()
            )
        );
    }

    #[test]
    fn imagenet_resolves_per_arch_and_the_converted_files_digest_is_returned() {
        use sweep_data::weights::{Layout, WeightsRecord};
        let tmp = tempfile::tempdir().unwrap();
        let cache = WeightsCache::new(tmp.path());
        let mut spec = RunSpec {
            dataset: "synthetic:breastmnist".into(),
            arch: "resnet50".into(),
            lr: 1e-3,
            class_weighting: crate::train_options::ClassWeighting::None,
            pos_weight: crate::train_options::PosWeight::None,
            folds: crate::train_options::Folds::None,
            fold: None,
            seed: 0,
            train: crate::train_options::TrainOptions::default(),
            image_folder: None,
            worker: None,
        };
        spec.train.pretrained = Some(Pretrained::Weights {
            weights: "imagenet".into(),
        });
        let err = resolve_weights(&mut spec.clone(), &cache)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`resnet50_imagenet` not found")
                && err.contains("`sweep weights pull resnet50_imagenet`"),
            "{err}"
        );
        let file = cache.weights_file("resnet50_imagenet");
        std::fs::write(&file, b"converted").unwrap();
        let sha256 = sweep_data::fingerprint::file_fingerprint(&file).unwrap();
        cache
            .write_record(&WeightsRecord {
                name: "resnet50_imagenet".into(),
                arch: "resnet50".into(),
                layout: Layout::Torchvision,
                source: "test".into(),
                source_sha256: "0".repeat(64),
                sha256: sha256.clone(),
                bytes: 9,
                tensors: 1,
                converted_by: "test".into(),
            })
            .unwrap();
        assert_eq!(resolve_weights(&mut spec, &cache).unwrap(), Some(sha256));
        assert_eq!(
            spec.train.pretrained,
            Some(Pretrained::Weights {
                weights: "resnet50_imagenet".into()
            })
        );
        spec.arch = "chest_cnn".into();
        let err = resolve_weights(&mut spec, &cache).unwrap_err().to_string();
        assert!(
            err.contains("weights `resnet50_imagenet` are for `resnet50`"),
            "{err}"
        );
    }

    #[test]
    fn a_file_is_fingerprinted_by_its_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let dataset = DatasetRef::parse("breastmnist").unwrap();
        let path = tmp.path().join(dataset.file_name());
        std::fs::write(&path, b"not really an npz").unwrap();
        let (print, file) = DataFingerprints { cache_dir: None }
            .fingerprint(&dataset, tmp.path())
            .unwrap();
        assert_eq!(
            print,
            sweep_data::fingerprint::file_fingerprint(&path).unwrap()
        );
        assert_eq!(file, Some(std::fs::canonicalize(&path).unwrap()));
    }
}
