//! ROC figures: one curve per configuration or per label, each named with its
//! AUC in the legend, over the diagonal of a chance-level classifier.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::{
    ChartBuilder, DashedLineSeries, DrawingArea, DrawingBackend, LineSeries, TRANSPARENT,
};
use plotters::style::Color;

use crate::error::PlotError;
use crate::legend::{self, Entry, PixelRect, Swatch};
use crate::render::{Figure, render};
use crate::roc_points::{roc_points, trapezoid_auc};
use crate::theme;

/// One ROC curve to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct RocCurve {
    /// Configuration or label name, shown in the legend.
    pub name: String,
    /// False-positive rates, in drawing order.
    pub fpr: Vec<f64>,
    /// True-positive rates, same length as `fpr`.
    pub tpr: Vec<f64>,
    /// Area under the curve, shown in the legend (`NaN` shows as "n/a").
    pub auc: f64,
}

impl RocCurve {
    /// The curve of `scores` against `y_true` (see [`roc_points`]) with its
    /// trapezoidal AUC.
    ///
    /// # Panics
    ///
    /// When `y_true` and `scores` differ in length.
    pub fn from_scores(name: impl Into<String>, y_true: &[u8], scores: &[f64]) -> Self {
        let (fpr, tpr) = roc_points(y_true, scores);
        let auc = trapezoid_auc(&fpr, &tpr);
        RocCurve {
            name: name.into(),
            fpr,
            tpr,
            auc,
        }
    }

    fn legend_label(&self) -> String {
        if self.auc.is_finite() {
            format!("{} (AUC = {:.3})", self.name, self.auc)
        } else {
            format!("{} (AUC = n/a)", self.name)
        }
    }
}

/// Draws `curves` into `out` (`.svg` or `.png`, [`theme::DEFAULT_SIZE`]).
///
/// Points with a non-finite rate are skipped; a curve left with none is
/// still listed in the legend so that its absence is visible.
pub fn roc_curves(curves: &[RocCurve], out: &Path) -> Result<(), PlotError> {
    if curves.is_empty() {
        return Err(PlotError::InvalidInput("no ROC curves given".into()));
    }
    for c in curves {
        if c.fpr.len() != c.tpr.len() {
            return Err(PlotError::InvalidInput(format!(
                "ROC curve {}: {} false-positive rates but {} true-positive rates",
                c.name,
                c.fpr.len(),
                c.tpr.len()
            )));
        }
    }
    render(&RocFigure { curves }, theme::DEFAULT_SIZE, out)
}

struct RocFigure<'a> {
    curves: &'a [RocCurve],
}

impl Figure for RocFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let mut entries: Vec<Entry> = self
            .curves
            .iter()
            .enumerate()
            .map(|(i, c)| Entry::new(c.legend_label(), Swatch::Line(theme::series_color(i))))
            .collect();
        entries.push(Entry::new("chance", Swatch::Dashed(theme::REFERENCE)));
        let placement = legend::place(root, &entries)?;

        let mut chart = ChartBuilder::on(&placement.chart)
            .caption("ROC curves", theme::bold(theme::TITLE_PT))
            .margin(16)
            .x_label_area_size(52)
            .y_label_area_size(72)
            // A little room beyond [0, 1] keeps lines on the edges visible.
            .build_cartesian_2d(-0.01..1.01, -0.01..1.01)?;
        chart
            .configure_mesh()
            .x_desc("False positive rate")
            .y_desc("True positive rate")
            .axis_desc_style(theme::text(theme::AXIS_PT))
            .label_style(theme::text(theme::TICK_PT))
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&|v| format!("{v:.1}"))
            .y_label_formatter(&|v| format!("{v:.1}"))
            .bold_line_style(theme::GRID)
            .light_line_style(TRANSPARENT)
            .axis_style(theme::FRAME)
            .draw()?;

        chart.draw_series(DashedLineSeries::new(
            [(0.0, 0.0), (1.0, 1.0)],
            6,
            6,
            theme::REFERENCE.stroke_width(1),
        ))?;

        let mut pixel_lines = vec![vec![
            chart.backend_coord(&(0.0, 0.0)),
            chart.backend_coord(&(1.0, 1.0)),
        ]];
        for (i, curve) in self.curves.iter().enumerate() {
            let color = theme::series_color(i);
            let points: Vec<(f64, f64)> = curve
                .fpr
                .iter()
                .zip(&curve.tpr)
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|(x, y)| (*x, *y))
                .collect();
            pixel_lines.push(points.iter().map(|p| chart.backend_coord(p)).collect());
            chart.draw_series(LineSeries::new(points, color.stroke_width(2)))?;
        }
        let plot = PixelRect::from(chart.plotting_area().get_pixel_range());
        legend::draw(root, &placement, plot, &entries, &pixel_lines)
    }
}
