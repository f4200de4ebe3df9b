//! Datasets for `sweep`, without libtorch: the MedMNIST catalog, the `.npz`
//! reader, synthetic look-alike datasets, k-fold assignment and content
//! fingerprints. Everything here works on plain byte buffers so that spec
//! validation, hashing and the trainer share one notion of "a dataset".
//!
//! * [`catalog`]: facts about every MedMNIST 2D dataset, no file needed.
//! * [`npy`], [`npz`]: a bounded-memory reader for NumPy archives.
//! * [`medmnist`]: loads an official file and checks it against the catalog.
//! * [`mod@synthetic`]: deterministic stand-ins with the same shapes and balance.
//! * [`folds`]: reproducible, stratified k-fold assignments.
//! * [`image_folder`]: folders of PNG/JPEG images, decoded once and cached.
//! * [`npz_write`]: atomic `.npz` writing for those caches.
//! * [`atomic`]: the one durable, atomic way every crate replaces a file.
//! * [`fingerprint`]: content hashes that identify a run's data.
//! * [`verify`]: MD5 checks against the official release.
//! * `memo`: the size-and-mtime memo of digests both of those keep.
//! * `download` (feature `download`): resumable, verified downloads.
//! * [`weights`]: the catalogue and cache folder of pretrained weights.
//! * [`error`]: the error type naming file, array and expectation.

pub mod atomic;
pub mod catalog;
mod catalog_table;
#[cfg(feature = "download")]
pub mod download;
pub mod error;
pub mod fingerprint;
pub mod folds;
pub mod image_folder;
pub mod medmnist;
mod memo;
pub mod npy;
pub mod npz;
pub mod npz_write;
mod rng;
pub mod synthetic;
pub mod verify;
pub mod weights;

#[cfg(test)]
mod test_support;

pub use catalog::{DatasetInfo, DatasetRef, Source, Task};
pub use error::DataError;
pub use fingerprint::{file_fingerprint, fingerprint_cached, synthetic_fingerprint};
pub use folds::{assign_folds, fold_split};
pub use medmnist::{
    MedmnistArrays, Split, SplitArrays, label_width, load_medmnist, load_medmnist_from,
    load_medmnist_labels,
};
pub use npy::{Dtype, NpyArray, NpyError};
pub use npz::{DEFAULT_MAX_ARRAY_BYTES, NpzFile, read_npz};
pub use synthetic::{GENERATOR_VERSION, synthetic, synthetic_split_sizes};
pub use verify::{FileVerdict, LocalState, Md5Memo, file_md5, local_state, verify_file};
