//! `sweep report`: the tables of a paper, regenerated from a results folder.
//!
//! A sweep leaves one folder per run (`results/<key>/metrics.json`,
//! `history.csv`, `predictions.csv`). This crate turns the runs of a plan
//! into the tables scientists publish, without libtorch:
//!
//! * [`build_report`]: one row per configuration (folds and seeds pooled, or
//!   rows chosen with `group_by`), mean ± sample std, n, min, max per metric;
//!   fields shared by every row in a caption; runs without results listed in
//!   footnotes with their reason; optional paired comparisons with a baseline
//!   row (t-test, Wilcoxon, Holm, DeLong on test AUC).
//! * [`per_class`]: TN/FP/FN/TP, accuracy, sensitivity, specificity, AUC and
//!   the classification report per class for one configuration;
//!   [`per_class_flattened`] the same on the labels flattened into one
//!   binary vector.
//! * [`prevalence`]: class counts and shares per split.
//! * [`export()`]: the runs as a tidy table (long CSV or JSON lines) for
//!   pandas, polars or R, final metrics or per epoch.
//! * [`render`]: any of them as a terminal table, Markdown, CSV, LaTeX
//!   (booktabs) or JSON, the best value per column highlighted.
//!
//! ```no_run
//! use sweep_report::{Format, RenderOptions, ReportOptions, build_report, render};
//! # fn demo(store: &sweep_core::store::Store, plan: &sweep_core::plan::Plan) -> Result<(), sweep_report::ReportError> {
//! let options = ReportOptions {
//!     metrics: vec!["val_auc".into(), "test_auc".into()],
//!     baseline: vec!["arch=chest_cnn".parse()?],
//!     ..ReportOptions::default()
//! };
//! let report = build_report(store, &plan.runs, &options)?;
//! print!("{}", render(&report, Format::Markdown, &RenderOptions::default()));
//! # Ok(()) }
//! ```
//!
//! Modules, in the order data flows: `collect` loads runs,
//! `filter` and `group` choose and pool them, `columns` names metrics,
//! `aggregate` summarises, `compare` and [`stats`] test, `layout`, `format`
//! and `render` print.

mod aggregate;
mod collect;
mod columns;
mod compare;
mod document;
mod ensemble;
mod error;
pub mod export;
mod filter;
mod format;
mod group;
mod history;
pub mod html;
mod layout;
mod per_class;
mod predictions;
mod prevalence;
mod query;
mod render;
mod report_table;
mod selection;
mod split_metrics;
pub mod stats;
#[cfg(test)]
mod test_support;

pub use aggregate::Stat;
pub use columns::{Better, DEFAULT_METRICS, MetricInfo, Unit, metric_names};
pub use compare::{Comparison, DelongSummary, MetricComparison, RowComparison};
pub use error::ReportError;
pub use export::{
    ExportError, ExportFormat, ExportOptions, ExportSource, ExportSummary, export, export_metrics,
};
pub use html::{ExperimentSource, HtmlError, HtmlOptions, HtmlOutput, write_html};
pub use per_class::{
    AverageRow, ClassRow, MissingRun, PerClassReport, per_class, per_class_flattened,
};
pub use prevalence::{PrevalenceReport, PrevalenceRow, prevalence};
pub use query::{Format, RenderOptions, ReportOptions, Selection};
pub use render::{Renderable, render};
pub use report_table::{CaptionEntry, FieldValues, Report, Row, RunEntry, build_report};
pub use sweep_data::medmnist::Split;
