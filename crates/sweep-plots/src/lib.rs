//! Paper-style figures for `sweep` studies, written as SVG or PNG.
//!
//! The inputs are plain numbers and names, so any crate can plot without
//! depending on the rest of the workspace. Every function writes one file and
//! picks the format from its extension ([`OutputFormat`]):
//!
//! * [`learning_curves`] — mean over folds with a min–max band per
//!   configuration, train dashed and validation solid, for one metric.
//! * [`confusion_grid`] — a grid of per-label 2×2 matrices (multi-label tasks);
//!   [`confusion_matrix`] — one k×k matrix with a colour bar (multi-class).
//! * [`roc_curves`] — ROC curves with their AUC in the legend; [`roc_points`]
//!   computes a curve from scores as scikit-learn does.
//! * [`bar_chart`] — the main metric per configuration with error bars.
//!
//! SVG output needs nothing from the machine. PNG output draws text with a
//! TrueType font found on the system at run time (no font ships with this
//! crate); see [`font`] for where it looks and how to override it. Without one,
//! PNG output fails with [`PlotError::FontUnavailable`] and SVG still works.

mod bars;
mod colormap;
mod confusion_grid;
mod confusion_matrix;
mod error;
pub mod fold_stats;
pub mod font;
mod format;
mod glyphs;
mod learning_curves;
mod legend;
mod matrix_cells;
mod png_canvas;
mod render;
mod roc;
mod roc_points;
mod svg_canvas;
/// The counted skip every crate's tests share (see that file).
#[cfg(test)]
#[path = "../../sweep-data/src/test_support/skip.rs"]
mod test_skip;
pub mod theme;

pub use bars::{Bar, bar_chart};
pub use confusion_grid::{LabelMatrix, confusion_grid};
pub use confusion_matrix::confusion_matrix;
pub use error::PlotError;
pub use fold_stats::{EpochBand, fold_bands};
pub use font::{FONT_ENV, png_available};
pub use format::OutputFormat;
pub use learning_curves::{Curve, Split, learning_curves};
pub use roc::{RocCurve, roc_curves};
pub use roc_points::{roc_points, trapezoid_auc};
pub use theme::{DEFAULT_SIZE, GRID_SIZE, MATRIX_SIZE};
