//! Bar charts of a study's main metric: one bar per configuration at the mean
//! over folds, with ±1 standard deviation error bars and the value printed
//! above each bar.

use std::path::Path;

use plotters::coord::Shift;
use plotters::element::{PathElement, Rectangle, Text};
use plotters::prelude::{ChartBuilder, DrawingArea, DrawingBackend, TRANSPARENT};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, FontTransform};

use crate::error::PlotError;
use crate::render::{Figure, render};
use crate::theme;

/// One bar: a configuration's metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Configuration name, written under the bar.
    pub label: String,
    /// Bar height (usually the mean over folds).
    pub mean: f64,
    /// Half-length of the error bar (usually the standard deviation over
    /// folds); `None` draws no error bar.
    pub std: Option<f64>,
}

/// Draws `bars` in the given order into `out` (`.svg` or `.png`,
/// [`theme::DEFAULT_SIZE`]); `metric_label` titles the chart and the y axis.
pub fn bar_chart(bars: &[Bar], metric_label: &str, out: &Path) -> Result<(), PlotError> {
    if bars.is_empty() {
        return Err(PlotError::InvalidInput("no bars given".into()));
    }
    for bar in bars {
        if !bar.mean.is_finite() {
            return Err(PlotError::InvalidInput(format!(
                "bar {}: mean {} is not finite",
                bar.label, bar.mean
            )));
        }
        if let Some(std) = bar.std.filter(|s| !s.is_finite() || *s < 0.0) {
            return Err(PlotError::InvalidInput(format!(
                "bar {}: standard deviation {std} is not a finite non-negative number",
                bar.label
            )));
        }
    }
    render(&Bars { bars, metric_label }, theme::DEFAULT_SIZE, out)
}

struct Bars<'a> {
    bars: &'a [Bar],
    metric_label: &'a str,
}

const HALF_WIDTH: f64 = 0.32;
const CAP: f64 = 0.1;
const Y_LABEL_ROOM: i32 = 72;
const MARGIN: i32 = 16;

impl Bars<'_> {
    /// The y range: from 0 (or below, for negative values) to just above the
    /// highest error bar, leaving room for the value labels.
    fn y_range(&self) -> (f64, f64) {
        let top = |b: &Bar| b.mean + b.std.unwrap_or(0.0);
        let bottom = |b: &Bar| b.mean - b.std.unwrap_or(0.0);
        let high = self.bars.iter().map(top).fold(0.0, f64::max);
        let low = self.bars.iter().map(bottom).fold(0.0, f64::min);
        if high > low {
            let span = high - low;
            (
                if low < 0.0 { low - 0.05 * span } else { 0.0 },
                high + 0.12 * span,
            )
        } else {
            (0.0, 1.0)
        }
    }
}

impl Figure for Bars<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let n = self.bars.len();
        let tick = theme::text(theme::TICK_PT);
        let (width, _) = root.dim_in_pixel();
        let slot = (width as i32 - Y_LABEL_ROOM - 2 * MARGIN) / n as i32;
        let mut widest = 0;
        for bar in self.bars {
            widest = widest.max(root.estimate_text_size(&bar.label, &tick)?.0 as i32);
        }
        let (_, tick_h) = root.estimate_text_size("Ag", &tick)?;
        let upright = widest > slot - 8;
        let label_room = if upright { widest } else { tick_h as i32 };

        let (y0, y1) = self.y_range();
        let mut chart = ChartBuilder::on(root)
            .caption(self.metric_label, theme::bold(theme::TITLE_PT))
            .margin(MARGIN)
            .x_label_area_size(label_room + 14)
            .y_label_area_size(Y_LABEL_ROOM)
            .build_cartesian_2d(-0.6..(n as f64 - 0.4), y0..y1)?;
        let decimals = theme::decimals_for_span(y1 - y0);
        let y_format = |v: &f64| format!("{v:.decimals$}");
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc(self.metric_label)
            .axis_desc_style(theme::text(theme::AXIS_PT))
            .label_style(theme::text(theme::TICK_PT))
            .y_labels(6)
            .y_label_formatter(&y_format)
            .bold_line_style(theme::GRID)
            .light_line_style(TRANSPARENT)
            .axis_style(theme::FRAME)
            .draw()?;

        let fill = theme::series_color(0);
        chart.draw_series(self.bars.iter().enumerate().map(|(i, bar)| {
            let x = i as f64;
            Rectangle::new(
                [(x - HALF_WIDTH, 0.0f64.max(y0)), (x + HALF_WIDTH, bar.mean)],
                fill.mix(0.85).filled(),
            )
        }))?;
        for (i, bar) in self.bars.iter().enumerate() {
            let x = i as f64;
            if let Some(std) = bar.std.filter(|s| *s > 0.0) {
                let (lo, hi) = (bar.mean - std, bar.mean + std);
                let style = theme::INK.stroke_width(2);
                chart.draw_series([
                    PathElement::new(vec![(x, lo), (x, hi)], style),
                    PathElement::new(vec![(x - CAP, lo), (x + CAP, lo)], style),
                    PathElement::new(vec![(x - CAP, hi), (x + CAP, hi)], style),
                ])?;
            }
        }

        let note = theme::text(theme::NOTE_PT).pos(Pos::new(HPos::Center, VPos::Bottom));
        let below_axis = chart.backend_coord(&(0.0, y0)).1 + 8;
        for (i, bar) in self.bars.iter().enumerate() {
            let x = i as f64;
            let top = bar.mean.max(bar.mean + bar.std.unwrap_or(0.0));
            let (px, py) = chart.backend_coord(&(x, top));
            let value = value_text(bar, decimals + 1);
            let value = if root.estimate_text_size(&value, &note)?.0 as i32 <= slot {
                value
            } else {
                format!("{:.*}", decimals + 1, bar.mean)
            };
            root.draw(&Text::new(value, (px, py - 4), note.clone()))?;

            let label = if upright {
                tick.transform(FontTransform::Rotate270)
                    .pos(Pos::new(HPos::Right, VPos::Center))
            } else {
                tick.pos(Pos::new(HPos::Center, VPos::Top))
            };
            root.draw(&Text::new(bar.label.clone(), (px, below_axis), label))?;
        }
        Ok(())
    }
}

/// `mean ± std` with `decimals` places, or just the mean without a spread.
fn value_text(bar: &Bar, decimals: usize) -> String {
    match bar.std {
        Some(std) => format!("{:.decimals$} ± {:.decimals$}", bar.mean, std),
        None => format!("{:.decimals$}", bar.mean),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(mean: f64, std: Option<f64>) -> Bar {
        Bar {
            label: "x".into(),
            mean,
            std,
        }
    }

    #[test]
    fn range_starts_at_zero_and_clears_the_error_bars() {
        let bars = [bar(0.8, Some(0.1)), bar(0.6, None)];
        let (lo, hi) = Bars {
            bars: &bars,
            metric_label: "AUC",
        }
        .y_range();
        assert_eq!(lo, 0.0);
        assert!(hi > 0.9);
    }

    #[test]
    fn negative_values_extend_the_range_below_zero() {
        let bars = [bar(-0.5, Some(0.2)), bar(1.0, None)];
        let (lo, hi) = Bars {
            bars: &bars,
            metric_label: "Δ",
        }
        .y_range();
        assert!(lo < -0.7 && hi > 1.0);
    }

    #[test]
    fn value_text_shows_the_spread_when_known() {
        assert_eq!(value_text(&bar(0.91234, Some(0.0123)), 3), "0.912 ± 0.012");
        assert_eq!(value_text(&bar(0.91234, None), 2), "0.91");
    }
}
