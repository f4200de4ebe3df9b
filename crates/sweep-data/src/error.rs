//! The one error type for everything that reads or checks dataset files.
//!
//! A sweep can plan thousands of runs against a handful of `.npz` files, and
//! when one of them is wrong the only useful message is one that says which
//! file, which array inside it and what was expected. Every variant here
//! therefore carries the file path and, where it applies, the array key, and
//! renders as `path: key `name`: what went wrong`.

use std::io;
use std::path::PathBuf;

use crate::npy::NpyError;

/// Why a dataset file could not be read, or did not have the expected layout.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read (missing, unreadable, a directory).
    #[error("{}: cannot read file: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The file exists but is not a readable ZIP archive (so not an `.npz`).
    #[error("{}: not an .npz (zip) archive: {detail}", path.display())]
    NotZip { path: PathBuf, detail: String },

    /// The archive has no `<key>.npy` member.
    #[error("{}: key `{key}`: not in archive (keys present: {available})", path.display())]
    MissingKey {
        path: PathBuf,
        key: String,
        available: String,
    },

    /// The zip layer failed on this member (unsupported compression,
    /// encryption, corrupt local header).
    #[error("{}: key `{key}`: cannot open member: {detail}", path.display())]
    Member {
        path: PathBuf,
        key: String,
        detail: String,
    },

    /// The member is there but its `.npy` content is malformed, unsupported
    /// or too large.
    #[error("{}: key `{key}`: {source}", path.display())]
    Npy {
        path: PathBuf,
        key: String,
        #[source]
        source: NpyError,
    },

    /// The array is well formed but does not have the layout the dataset needs
    /// (wrong rank, image size, channel count, label width, sample count).
    #[error("{}: key `{key}`: expected {expected}, found {found}", path.display())]
    Layout {
        path: PathBuf,
        key: String,
        expected: String,
        found: String,
    },

    /// A label value is outside the range the dataset's task allows.
    #[error(
        "{}: key `{key}`: label {value} at sample {sample}, column {column} is out of range (expected {expected})",
        path.display()
    )]
    LabelOutOfRange {
        path: PathBuf,
        key: String,
        sample: usize,
        column: usize,
        value: u8,
        expected: String,
    },

    /// The fingerprint memo could not be written.
    #[error("{}: cannot write fingerprint cache: {source}", path.display())]
    Cache {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}
