//! One error type for every figure, so callers handle "could not plot" in one place.
//!
//! Drawing failures from `plotters` are generic over the backend; they are turned
//! into text here so the public API stays free of backend types.

use std::path::PathBuf;

use plotters::drawing::DrawingAreaErrorKind;

/// Why a figure could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The output path ends in something other than `.svg` or `.png`.
    #[error("cannot tell the image format of {path}: the file name must end in .svg or .png")]
    UnsupportedFormat {
        /// The path that was asked for.
        path: PathBuf,
    },
    /// PNG output was asked for but no usable TrueType font was found.
    #[error(
        "PNG output needs a TrueType font and none was usable ({reason}); \
         install Debian's `fonts-dejavu-core` package, point {env} at a .ttf file, \
         or write the figure as .svg, which needs no font"
    )]
    FontUnavailable {
        /// What was tried and why it failed.
        reason: String,
        /// The environment variable that overrides the font search.
        env: &'static str,
    },
    /// The data cannot be drawn (empty, mismatched lengths, non-finite values…).
    #[error("invalid plot input: {0}")]
    InvalidInput(String),
    /// The drawing backend failed while drawing or writing the image.
    #[error("drawing failed: {0}")]
    Draw(String),
    /// The output file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file that could not be written.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for PlotError {
    fn from(err: DrawingAreaErrorKind<E>) -> Self {
        PlotError::Draw(err.to_string())
    }
}
