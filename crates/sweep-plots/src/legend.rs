//! A boxed legend: inside the plot, in the corner where it hides the least
//! data, or — when it has many entries — in a column beside the plot.
//!
//! The legend is laid out here rather than by `plotters`' series labels because
//! those measure text with the font file, and SVG output must not need one
//! (see [`crate::svg_canvas`]). Here all text is measured through the backend.

use plotters::coord::Shift;
use plotters::element::{PathElement, Rectangle, Text};
use plotters::prelude::{DrawingArea, DrawingBackend};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, RGBColor, TextStyle, WHITE};

use crate::error::PlotError;
use crate::theme;

/// How an entry's sample is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Swatch {
    /// A solid line.
    Line(RGBColor),
    /// A dashed line.
    Dashed(RGBColor),
}

/// One row of a legend.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) label: String,
    pub(crate) swatch: Swatch,
}

impl Entry {
    pub(crate) fn new(label: impl Into<String>, swatch: Swatch) -> Self {
        Entry {
            label: label.into(),
            swatch,
        }
    }
}

/// A pixel rectangle: left, top, right, bottom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PixelRect {
    pub(crate) left: i32,
    pub(crate) top: i32,
    pub(crate) right: i32,
    pub(crate) bottom: i32,
}

impl From<(std::ops::Range<i32>, std::ops::Range<i32>)> for PixelRect {
    /// From `DrawingArea::get_pixel_range`'s `(x range, y range)`.
    fn from((xs, ys): (std::ops::Range<i32>, std::ops::Range<i32>)) -> Self {
        PixelRect {
            left: xs.start,
            top: ys.start,
            right: xs.end,
            bottom: ys.end,
        }
    }
}

impl PixelRect {
    fn contains(&self, (x, y): (i32, i32)) -> bool {
        self.left <= x && x <= self.right && self.top <= y && y <= self.bottom
    }
}

const SWATCH_W: i32 = 30;
const GAP: i32 = 8;
const PAD: i32 = 8;
const INSET: i32 = 10;

/// Chooses where a `w`×`h` box goes inside `plot`: the corner (upper right,
/// lower right, upper left, lower left, in that order of preference) that
/// covers the fewest points sampled along `lines`.
pub(crate) fn pick_corner(
    plot: PixelRect,
    (w, h): (i32, i32),
    lines: &[Vec<(i32, i32)>],
) -> PixelRect {
    let left = plot.left + INSET;
    let right = plot.right - INSET - w;
    let top = plot.top + INSET;
    let bottom = plot.bottom - INSET - h;
    let corners = [(right, top), (right, bottom), (left, top), (left, bottom)];
    let samples: Vec<(i32, i32)> = lines.iter().flat_map(|l| sample_polyline(l)).collect();
    corners
        .iter()
        .map(|&(x, y)| PixelRect {
            left: x,
            top: y,
            right: x + w,
            bottom: y + h,
        })
        .min_by_key(|rect| samples.iter().filter(|p| rect.contains(**p)).count())
        .expect("four corners")
}

/// Points every few pixels along a polyline, so long straight segments count.
fn sample_polyline(line: &[(i32, i32)]) -> Vec<(i32, i32)> {
    const STEP: f64 = 4.0;
    let mut out = Vec::new();
    for pair in line.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let (dx, dy) = (f64::from(b.0 - a.0), f64::from(b.1 - a.1));
        let n = ((dx.hypot(dy) / STEP).ceil() as i32).max(1);
        for k in 0..n {
            let t = f64::from(k) / f64::from(n);
            out.push((a.0 + (dx * t).round() as i32, a.1 + (dy * t).round() as i32));
        }
    }
    out.extend(line.last().copied());
    out
}

/// Legends with more entries than this get a column beside the plot instead
/// of covering it.
const MAX_INSIDE: usize = 8;

/// How the entries are arranged and how big the box is.
struct Layout {
    rows: usize,
    row_h: i32,
    column_widths: Vec<i32>,
    size: (i32, i32),
}

fn text_style() -> TextStyle<'static> {
    theme::text(theme::LEGEND_PT).pos(Pos::new(HPos::Left, VPos::Center))
}

/// Arranges `entries` in as few columns as keep the box within `max_h`.
fn layout<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[Entry],
    max_h: i32,
) -> Result<Layout, PlotError> {
    let style = text_style();
    let mut widths = Vec::with_capacity(entries.len());
    let mut text_h = 0;
    for entry in entries {
        let (w, h) = area.estimate_text_size(&entry.label, &style)?;
        widths.push(w as i32);
        text_h = text_h.max(h as i32);
    }
    let row_h = text_h + 8;
    let max_rows = ((max_h - 2 * PAD) / row_h).max(1) as usize;
    let columns = entries.len().div_ceil(max_rows).max(1);
    let rows = entries.len().div_ceil(columns).max(1);
    let column_widths: Vec<i32> = widths
        .chunks(rows)
        .map(|c| SWATCH_W + GAP + c.iter().copied().max().unwrap_or(0))
        .collect();
    let width =
        column_widths.iter().sum::<i32>() + GAP * (column_widths.len() as i32 - 1).max(0) + 2 * PAD;
    Ok(Layout {
        rows,
        row_h,
        column_widths,
        size: (width, rows as i32 * row_h + 2 * PAD),
    })
}

/// Where a legend goes; decided before the chart is built.
pub(crate) struct Placement<DB: DrawingBackend> {
    /// The area the chart itself is drawn on.
    pub(crate) chart: DrawingArea<DB, Shift>,
    /// A column right of the chart for long legends; `None` puts the legend
    /// inside the plot.
    beside: Option<DrawingArea<DB, Shift>>,
}

/// Splits a column for the legend off the right of `root` when `entries` are
/// too many to sit inside the plot.
pub(crate) fn place<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    entries: &[Entry],
) -> Result<Placement<DB>, PlotError> {
    if entries.len() <= MAX_INSIDE {
        return Ok(Placement {
            chart: root.clone(),
            beside: None,
        });
    }
    let (w, h) = root.dim_in_pixel();
    let layout = layout(root, entries, h as i32 - 2 * INSET)?;
    let column = (layout.size.0 + 2 * INSET).min(w as i32 / 2);
    let (chart, beside) = root.split_horizontally(w as i32 - column);
    Ok(Placement {
        chart,
        beside: Some(beside),
    })
}

/// Draws `entries` as a boxed legend: beside the plot when `placement` made
/// room for it, otherwise inside `plot` (pixels of `root`) in the corner that
/// hides the least of `lines` (pixel polylines of the data).
pub(crate) fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    placement: &Placement<DB>,
    plot: PixelRect,
    entries: &[Entry],
    lines: &[Vec<(i32, i32)>],
) -> Result<(), PlotError> {
    if entries.is_empty() {
        return Ok(());
    }
    match &placement.beside {
        Some(column) => {
            let (_, h) = column.dim_in_pixel();
            let layout = layout(column, entries, h as i32 - 2 * INSET)?;
            let top = ((h as i32 - layout.size.1) / 2).max(0);
            paint(column, &layout, entries, (0, top))
        }
        None => {
            // Keep an inside legend within three quarters of the plot's height.
            let max_h = ((plot.bottom - plot.top) * 3 / 4).max(1);
            let layout = layout(root, entries, max_h)?;
            let place = pick_corner(plot, layout.size, lines);
            paint(root, &layout, entries, (place.left, place.top))
        }
    }
}

fn paint<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    layout: &Layout,
    entries: &[Entry],
    (left, top): (i32, i32),
) -> Result<(), PlotError> {
    let (right, bottom) = (left + layout.size.0, top + layout.size.1);
    area.draw(&Rectangle::new(
        [(left, top), (right, bottom)],
        WHITE.mix(0.9).filled(),
    ))?;
    area.draw(&PathElement::new(
        vec![
            (left, top),
            (right, top),
            (right, bottom),
            (left, bottom),
            (left, top),
        ],
        theme::FRAME.stroke_width(1),
    ))?;
    let style = text_style();
    let mut x = left + PAD;
    for (column, chunk) in entries.chunks(layout.rows).enumerate() {
        for (row, entry) in chunk.iter().enumerate() {
            let y = top + PAD + row as i32 * layout.row_h + layout.row_h / 2;
            draw_swatch(area, entry.swatch, (x, y))?;
            area.draw(&Text::new(
                entry.label.clone(),
                (x + SWATCH_W + GAP, y),
                style.clone(),
            ))?;
        }
        x += layout.column_widths[column] + GAP;
    }
    Ok(())
}

fn draw_swatch<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    swatch: Swatch,
    (x, y): (i32, i32),
) -> Result<(), PlotError> {
    match swatch {
        Swatch::Line(color) => {
            root.draw(&PathElement::new(
                vec![(x, y), (x + SWATCH_W, y)],
                color.stroke_width(3),
            ))?;
        }
        Swatch::Dashed(color) => {
            for start in [0, 12, 24] {
                root.draw(&PathElement::new(
                    vec![(x + start, y), (x + (start + 6).min(SWATCH_W), y)],
                    color.stroke_width(3),
                ))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLOT: PixelRect = PixelRect {
        left: 0,
        top: 0,
        right: 400,
        bottom: 300,
    };

    #[test]
    fn empty_plot_puts_the_legend_upper_right() {
        let rect = pick_corner(PLOT, (100, 50), &[]);
        assert_eq!((rect.right, rect.top), (400 - INSET, INSET));
        assert_eq!((rect.right - rect.left, rect.bottom - rect.top), (100, 50));
    }

    #[test]
    fn legend_moves_away_from_data() {
        // A curve that rises to the upper right, like an accuracy curve.
        let rising = vec![(0, 290), (100, 100), (400, 20)];
        let rect = pick_corner(PLOT, (100, 50), &[rising]);
        assert_eq!((rect.right, rect.bottom), (400 - INSET, 300 - INSET));

        // A falling loss curve that also crosses the lower right.
        let falling = vec![(0, 20), (150, 250), (400, 290)];
        let flat_top = vec![(200, 30), (400, 30)];
        let rect = pick_corner(PLOT, (100, 50), &[falling, flat_top]);
        assert_eq!((rect.left, rect.bottom), (INSET, 300 - INSET));
    }

    #[test]
    fn long_segments_are_sampled_between_vertices() {
        // Only the two end points lie outside the upper-right corner box,
        // but the segment runs straight through it.
        let across = vec![(0, 30), (400, 30)];
        let rect = pick_corner(PLOT, (100, 50), &[across]);
        assert!(rect.top > 30, "{rect:?}");
    }
}
