//! `sweep report --format html`: the whole study on one page that opens
//! from disk, for reading results and sharing them with people who do not
//! run `sweep`.
//!
//! [`write_html`] writes `index.html` and its SVG figures into a folder:
//!
//! * the comparison table (the same rows, caption, best values and
//!   footnotes as the text formats, including missing and failed runs);
//! * per dataset, test AUC per configuration with error bars, the test-set
//!   confusion of the configuration with the best validation AUC, ROC
//!   curves on the test set, the train-set prevalence per label and the
//!   validation accuracy, sensitivity, specificity and AUC per label of
//!   every configuration;
//! * per configuration, learning curves of loss, accuracy, AUC,
//!   sensitivity and specificity;
//! * the runs without results and why, the library versions the runs
//!   recorded, and the experiment files verbatim.
//!
//! The page has no external style sheet, script or font and loads nothing
//! from a network; its figures are files in `figures/` next to it, referred
//! to by relative paths. A partial sweep renders: rows without results are
//! marked, and a figure that cannot be drawn is replaced by the reason.
//!
//! Modules: `runs` loads what the figures need from each finished run,
//! `figure_data` and `per_label` work out what they show, `figures` draws
//! them, `page` writes the HTML, `escape` makes text safe.

mod escape;
mod figure_data;
mod figures;
mod page;
mod per_label;
mod runs;

use std::path::{Path, PathBuf};

use sweep_core::plan::PlannedRun;
use sweep_core::store::Store;

use crate::error::ReportError;
use crate::layout::report_doc;
use crate::query::{RenderOptions, ReportOptions};
use crate::report_table::build_report;

/// The folder, inside the output folder, that holds the figures.
pub const FIGURES_DIR: &str = "figures";

/// The page's file name inside the output folder.
pub const INDEX_FILE: &str = "index.html";

/// An experiment file shown verbatim on the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExperimentSource {
    /// How the file is named on the page (usually its path).
    pub name: String,
    pub text: String,
}

/// What goes into the HTML report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlOptions {
    /// The comparison table's metrics, rows, filters and baseline.
    pub report: ReportOptions,
    /// Decimals for scores and losses.
    pub decimals: usize,
    /// The page's title.
    pub title: String,
    pub experiments: Vec<ExperimentSource>,
}

/// What [`write_html`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlOutput {
    /// `DIR/index.html`.
    pub index: PathBuf,
    /// The SVG files written under `DIR/figures/`.
    pub figures: Vec<PathBuf>,
    /// Figures that could not be drawn, and why (also shown on the page).
    pub missing_figures: Vec<String>,
    pub runs_selected: usize,
    pub runs_loaded: usize,
}

/// Why the HTML report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Builds the comparison table of `runs` and writes the HTML report into
/// `out_dir` (created when missing; earlier files of the same names are
/// replaced).
pub fn write_html(
    store: &Store,
    runs: &[PlannedRun],
    options: &HtmlOptions,
    out_dir: &Path,
) -> Result<HtmlOutput, HtmlError> {
    let report = build_report(store, runs, &options.report)?;
    let figures_dir = out_dir.join(FIGURES_DIR);
    std::fs::create_dir_all(&figures_dir).map_err(|source| HtmlError::Io {
        path: figures_dir.clone(),
        source,
    })?;
    let rows = runs::load(store, &report);
    let figures = figures::draw_all(&report, &rows, &figures_dir, FIGURES_DIR);
    let doc = report_doc(
        &report,
        &RenderOptions {
            decimals: options.decimals,
            color: false,
        },
    );
    let html = page::render(&page::Page {
        title: &options.title,
        report: &report,
        doc: &doc,
        rows: &rows,
        figures: &figures,
        experiments: &options.experiments,
        decimals: options.decimals,
    });
    let index = out_dir.join(INDEX_FILE);
    sweep_core::store::write_atomic(&index, html.as_bytes()).map_err(|source| HtmlError::Io {
        path: index.clone(),
        source,
    })?;
    let mut missing_figures: Vec<String> = Vec::new();
    for d in &figures.datasets {
        let best = d.best.as_ref().ok();
        for (what, drawn) in [
            ("test AUC bars", Some(&d.bars)),
            ("confusion", best.map(|b| &b.confusion)),
            ("ROC", Some(&d.roc)),
        ] {
            if let Some(Err(why)) = drawn {
                missing_figures.push(format!("{}, {what}: {why}", d.dataset));
            }
        }
    }
    // One line per reason, naming the configurations it holds for: a
    // smoke sweep's one-epoch histories would otherwise repeat the same
    // sentence once per row.
    let mut curve_misses: Vec<(&str, Vec<&str>)> = Vec::new();
    for c in &figures.curves {
        let label = rows[c.row].label.as_str();
        let whys: Vec<&str> = match &c.figures {
            Ok(list) => list
                .iter()
                .filter_map(|f| f.as_ref().err())
                .map(String::as_str)
                .collect(),
            Err(why) => vec![why.as_str()],
        };
        for why in whys {
            match curve_misses.iter_mut().find(|(w, _)| *w == why) {
                Some((_, labels)) => labels.push(label),
                None => curve_misses.push((why, vec![label])),
            }
        }
    }
    for (why, labels) in curve_misses {
        missing_figures.push(match labels.as_slice() {
            [one] => format!("{one}, learning curves: {why}"),
            [first, ..] => format!(
                "{} configurations ({first}, …), learning curves: {why}",
                labels.len()
            ),
            [] => unreachable!("a reason is recorded with its first configuration"),
        });
    }
    Ok(HtmlOutput {
        index,
        figures: figures.written,
        missing_figures,
        runs_selected: report.runs_selected,
        runs_loaded: report.runs_loaded,
    })
}
