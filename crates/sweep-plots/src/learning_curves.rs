//! Learning-curve figures: one metric (loss, accuracy, AUC…) per chart, epoch
//! on x, one colour per configuration, the mean over folds as a line and the
//! min–max over folds as a shaded band; training dashed, validation solid.

use std::path::Path;

use plotters::coord::Shift;
use plotters::element::Polygon;
use plotters::prelude::{
    ChartBuilder, DashedLineSeries, DrawingArea, DrawingBackend, LineSeries, TRANSPARENT,
};
use plotters::style::Color;

use crate::error::PlotError;
use crate::fold_stats::{EpochBand, fold_bands};
use crate::legend::{self, Entry, PixelRect, Swatch};
use crate::render::{Figure, render};
use crate::theme;

/// Which data a curve was measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// Training data: drawn dashed.
    Train,
    /// Validation data: drawn solid.
    Val,
}

impl Split {
    fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
        }
    }
}

/// One metric of one configuration on one split, for every fold.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// Configuration name; curves with the same name share a colour.
    pub config: String,
    /// Training or validation.
    pub split: Split,
    /// `folds[f][e]` is the value of fold `f` after epoch `e + 1`. Folds may
    /// stop at different epochs; non-finite values are skipped.
    pub folds: Vec<Vec<f64>>,
}

/// Draws `curves` for one metric into `out` (`.svg` or `.png`, [`theme::DEFAULT_SIZE`]).
///
/// `metric_label` titles the chart and the y axis, e.g. `"Validation AUC"`.
/// The legend names each configuration once, plus "train"/"val" line styles
/// when both splits are present.
pub fn learning_curves(curves: &[Curve], metric_label: &str, out: &Path) -> Result<(), PlotError> {
    let figure = LearningCurves::new(curves, metric_label)?;
    render(&figure, theme::DEFAULT_SIZE, out)
}

struct Series {
    color_index: usize,
    split: Split,
    bands: Vec<EpochBand>,
}

struct LearningCurves<'a> {
    metric_label: &'a str,
    configs: Vec<&'a str>,
    series: Vec<Series>,
}

impl<'a> LearningCurves<'a> {
    fn new(curves: &'a [Curve], metric_label: &'a str) -> Result<Self, PlotError> {
        if curves.is_empty() {
            return Err(PlotError::InvalidInput("no learning curves given".into()));
        }
        let mut configs: Vec<&str> = Vec::new();
        let mut series = Vec::with_capacity(curves.len());
        for curve in curves {
            let bands = fold_bands(&curve.folds);
            if bands.is_empty() {
                return Err(PlotError::InvalidInput(format!(
                    "curve {} ({}) has no finite value",
                    curve.config,
                    curve.split.name()
                )));
            }
            let color_index = match configs.iter().position(|c| *c == curve.config) {
                Some(i) => i,
                None => {
                    configs.push(&curve.config);
                    configs.len() - 1
                }
            };
            series.push(Series {
                color_index,
                split: curve.split,
                bands,
            });
        }
        Ok(LearningCurves {
            metric_label,
            configs,
            series,
        })
    }

    fn legend_entries(&self) -> Vec<Entry> {
        let mut entries: Vec<Entry> = self
            .configs
            .iter()
            .enumerate()
            .map(|(i, c)| Entry::new(*c, Swatch::Line(theme::series_color(i))))
            .collect();
        let has = |s: Split| self.series.iter().any(|x| x.split == s);
        if has(Split::Train) && has(Split::Val) {
            entries.push(Entry::new("train", Swatch::Dashed(theme::REFERENCE)));
            entries.push(Entry::new("val", Swatch::Line(theme::REFERENCE)));
        }
        entries
    }
}

impl Figure for LearningCurves<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let all = self.series.iter().flat_map(|s| s.bands.iter());
        let last_epoch = all.clone().map(|b| b.epoch).max().unwrap_or(1) as i32;
        let low = all.clone().map(|b| b.min).fold(f64::INFINITY, f64::min);
        let high = all.map(|b| b.max).fold(f64::NEG_INFINITY, f64::max);
        let (y0, y1) = theme::padded(low, high);
        let (x0, x1) = if last_epoch > 1 {
            (1, last_epoch)
        } else {
            (0, 2)
        };

        let entries = self.legend_entries();
        let placement = legend::place(root, &entries)?;
        let mut chart = ChartBuilder::on(&placement.chart)
            .caption(
                format!("Learning curves: {}", self.metric_label),
                theme::bold(theme::TITLE_PT),
            )
            .margin(16)
            .x_label_area_size(52)
            .y_label_area_size(72)
            .build_cartesian_2d(x0..x1, y0..y1)?;

        let decimals = theme::decimals_for_span(y1 - y0);
        let y_format = |v: &f64| format!("{v:.decimals$}");
        chart
            .configure_mesh()
            .x_desc("Epoch")
            .y_desc(self.metric_label)
            .axis_desc_style(theme::text(theme::AXIS_PT))
            .label_style(theme::text(theme::TICK_PT))
            .x_labels((x1 - x0 + 1).min(11) as usize)
            .y_labels(6)
            .y_label_formatter(&y_format)
            .bold_line_style(theme::GRID)
            .light_line_style(TRANSPARENT)
            .axis_style(theme::FRAME)
            .draw()?;

        let mut pixel_lines = Vec::new();
        // Bands first, so every line stays visible on top of every band.
        for s in self
            .series
            .iter()
            .filter(|s| s.bands.iter().any(|b| b.folds > 1))
        {
            let color = theme::series_color(s.color_index);
            let outline: Vec<(i32, f64)> = s
                .bands
                .iter()
                .map(|b| (b.epoch as i32, b.max))
                .chain(s.bands.iter().rev().map(|b| (b.epoch as i32, b.min)))
                .collect();
            chart.draw_series(std::iter::once(Polygon::new(
                outline,
                color.mix(0.15).filled(),
            )))?;
        }
        for s in &self.series {
            let color = theme::series_color(s.color_index);
            let points: Vec<(i32, f64)> =
                s.bands.iter().map(|b| (b.epoch as i32, b.mean)).collect();
            pixel_lines.push(points.iter().map(|p| chart.backend_coord(p)).collect());
            match s.split {
                Split::Val => {
                    chart.draw_series(LineSeries::new(points, color.stroke_width(2)))?;
                }
                Split::Train => {
                    chart.draw_series(DashedLineSeries::new(
                        points,
                        8,
                        5,
                        color.stroke_width(2),
                    ))?;
                }
            }
        }
        for s in &self.series {
            let edges = |pick: fn(&EpochBand) -> f64| -> Vec<(i32, i32)> {
                s.bands
                    .iter()
                    .map(|b| chart.backend_coord(&(b.epoch as i32, pick(b))))
                    .collect()
            };
            pixel_lines.push(edges(|b| b.min));
            pixel_lines.push(edges(|b| b.max));
        }

        let plot = PixelRect::from(chart.plotting_area().get_pixel_range());
        legend::draw(root, &placement, plot, &entries, &pixel_lines)
    }
}
