//! Dataset fingerprints for run keys: the sha256 of the `.npz` bytes (memoised
//! by path, size and mtime so re-planning never re-reads an unchanged file),
//! or a description hash for generated datasets, or the content fingerprint
//! of an image folder (memoised by its listing).

use std::path::{Path, PathBuf};

use sweep_core::plan::Fingerprints;
use sweep_data::catalog::{DatasetRef, Source};
use sweep_data::image_folder::ImageFolderDef;

/// Fingerprints datasets under a data root, memoising in `cache_dir`.
pub struct DataFingerprints {
    pub cache_dir: Option<PathBuf>,
}

impl Fingerprints for DataFingerprints {
    fn fingerprint(
        &self,
        dataset: &DatasetRef,
        data_root: &Path,
    ) -> Result<(String, Option<PathBuf>), String> {
        match dataset.source {
            Source::Synthetic => Ok((
                sweep_data::fingerprint::synthetic_fingerprint(
                    dataset,
                    Some(sweep_data::synthetic::TRAINING_SCALE),
                    sweep_data::synthetic::TRAINING_SEED,
                ),
                None,
            )),
            Source::ImageFolder => Err(format!(
                "image folder `{dataset}` is not declared under data.image_folders"
            )),
            Source::File => {
                let path = data_root.join(dataset.file_name());
                if !path.exists() {
                    return Err(format!(
                        "{} not found; get it with `sweep data pull {} --data-dir {}` (or `sweep run --pull`), or point --data-dir at a folder that has it",
                        path.display(),
                        dataset,
                        data_root.display()
                    ));
                }
                let print =
                    sweep_data::fingerprint::fingerprint_cached(&path, self.cache_dir.as_deref())
                        .map_err(|e| e.to_string())?;
                let abs = std::fs::canonicalize(&path).unwrap_or(path);
                Ok((print, Some(abs)))
            }
        }
    }

    fn folder_fingerprint(
        &self,
        def: &ImageFolderDef,
        folder: &Path,
    ) -> Result<(String, Option<PathBuf>), String> {
        if !folder.is_dir() {
            return Err(format!(
                "image folder {} not found; put the images there (one sub-folder per class), or point --data-dir at the folder that holds `{}`",
                folder.display(),
                folder
                    .file_name()
                    .map_or(String::new(), |n| n.to_string_lossy().into_owned())
            ));
        }
        let print =
            sweep_data::image_folder::folder_fingerprint(folder, def, self.cache_dir.as_deref())?;
        let abs = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
        Ok((print, Some(abs)))
    }
}
