//! The confusion matrix of a multi-class task (e.g. the 9 tissue types of
//! PathMNIST): k×k shaded cells with counts, class names on both axes and a
//! colour bar explaining the shading.

use std::path::Path;

use plotters::coord::Shift;
use plotters::element::{PathElement, Polygon, Text};
use plotters::prelude::{DrawingArea, DrawingBackend};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, FontTransform};

use crate::colormap;
use crate::error::PlotError;
use crate::matrix_cells;
use crate::render::{Figure, render};
use crate::theme;

/// Draws the `k×k` matrix `counts[true][predicted]` with `class_names` into
/// `out` (`.svg` or `.png`, [`theme::MATRIX_SIZE`]). Cells are shaded by their
/// share of the row (recall along the diagonal) and show the raw count.
pub fn confusion_matrix<S: AsRef<str>>(
    counts: &[Vec<u64>],
    class_names: &[S],
    out: &Path,
) -> Result<(), PlotError> {
    let k = counts.len();
    if k == 0 {
        return Err(PlotError::InvalidInput("empty confusion matrix".into()));
    }
    if let Some((r, row)) = counts.iter().enumerate().find(|(_, row)| row.len() != k) {
        return Err(PlotError::InvalidInput(format!(
            "confusion matrix has {k} rows but row {r} has {} entries",
            row.len()
        )));
    }
    if class_names.len() != k {
        return Err(PlotError::InvalidInput(format!(
            "{} class names for a {k}×{k} confusion matrix",
            class_names.len()
        )));
    }
    let names: Vec<&str> = class_names.iter().map(AsRef::as_ref).collect();
    render(&Matrix { counts, names }, theme::MATRIX_SIZE, out)
}

struct Matrix<'a> {
    counts: &'a [Vec<u64>],
    names: Vec<&'a str>,
}

/// Slices the colour bar is drawn with.
const BAR_STEPS: usize = 64;
const BAR_W: i32 = 18;
const BAR_ROOM: i32 = 110;

impl Figure for Matrix<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let body = root
            .margin(8, 12, 12, 12)
            .titled("Confusion matrix", theme::bold(theme::TITLE_PT))?;
        let (w, h) = body.dim_in_pixel();
        let (w, h) = (w as i32, h as i32);
        let k = self.counts.len() as i32;
        let tick = theme::text(theme::TICK_PT);
        let axis = theme::text(theme::AXIS_PT);

        let mut name_w = 0;
        let mut tick_h = 0;
        for name in &self.names {
            let (nw, nh) = body.estimate_text_size(name, &tick)?;
            name_w = name_w.max(nw as i32);
            tick_h = tick_h.max(nh as i32);
        }
        let (_, axis_h) = body.estimate_text_size("True", &axis)?;
        let axis_h = axis_h as i32;

        let left = axis_h + 12 + name_w + 8;
        let room_w = w - left - BAR_ROOM;
        // Try horizontal column names first; turn them upright if they collide.
        let fit = |bottom: i32| ((room_w).min(h - 10 - bottom) / k).max(4);
        let flat_bottom = tick_h + 8 + axis_h + 12;
        let mut cell = fit(flat_bottom);
        let upright = name_w > cell - 6;
        if upright {
            cell = fit(name_w + 8 + axis_h + 12);
        }
        let side = cell * k;
        let x0 = left + (room_w - side).max(0) / 2;
        let y0 = 10;

        matrix_cells::draw_cells(&body, (x0, y0), cell, self.counts)?;

        for (i, name) in self.names.iter().enumerate() {
            let middle = i as i32 * cell + cell / 2;
            body.draw(&Text::new(
                *name,
                (x0 - 8, y0 + middle),
                tick.pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
            let column_label = if upright {
                tick.transform(FontTransform::Rotate270)
                    .pos(Pos::new(HPos::Right, VPos::Center))
            } else {
                tick.pos(Pos::new(HPos::Center, VPos::Top))
            };
            body.draw(&Text::new(
                *name,
                (x0 + middle, y0 + side + 6),
                column_label,
            ))?;
        }
        let labels_h = if upright { name_w } else { tick_h };
        body.draw(&Text::new(
            "Predicted",
            (x0 + side / 2, y0 + side + 6 + labels_h + 8),
            axis.pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
        body.draw(&Text::new(
            "True",
            (x0 - 8 - name_w - 12 - axis_h / 2, y0 + side / 2),
            axis.transform(FontTransform::Rotate270)
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;

        draw_color_bar(&body, (x0 + side + 28, y0), side)
    }
}

/// A vertical bar from share 0 (bottom) to 1 (top) with ticks and a caption.
fn draw_color_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    height: i32,
) -> Result<(), PlotError> {
    let at = |share: f64| y + height - (share * f64::from(height)).round() as i32;
    for step in 0..BAR_STEPS {
        let lo = step as f64 / BAR_STEPS as f64;
        let hi = (step + 1) as f64 / BAR_STEPS as f64;
        area.draw(&Polygon::new(
            vec![
                (x, at(lo)),
                (x + BAR_W, at(lo)),
                (x + BAR_W, at(hi)),
                (x, at(hi)),
            ],
            colormap::blues((lo + hi) / 2.0).filled(),
        ))?;
    }
    area.draw(&PathElement::new(
        vec![
            (x, y),
            (x + BAR_W, y),
            (x + BAR_W, y + height),
            (x, y + height),
            (x, y),
        ],
        theme::FRAME.stroke_width(1),
    ))?;
    let tick = theme::text(theme::NOTE_PT).pos(Pos::new(HPos::Left, VPos::Center));
    for share in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let ty = at(share);
        area.draw(&PathElement::new(
            vec![(x + BAR_W, ty), (x + BAR_W + 4, ty)],
            theme::FRAME.stroke_width(1),
        ))?;
        area.draw(&Text::new(
            format!("{share:.2}"),
            (x + BAR_W + 7, ty),
            tick.clone(),
        ))?;
    }
    let (caption_w, _) = area.estimate_text_size("0.00", &theme::text(theme::NOTE_PT))?;
    area.draw(&Text::new(
        "share of true class",
        (x + BAR_W + 7 + caption_w as i32 + 14, y + height / 2),
        theme::text(theme::NOTE_PT)
            .transform(FontTransform::Rotate270)
            .pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    Ok(())
}
