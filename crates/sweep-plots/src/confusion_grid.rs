//! Per-label confusion matrices of a multi-label task (e.g. the 14 findings
//! of ChestMNIST) as a grid of small 2×2 panels, one per label.

use std::path::Path;

use plotters::coord::Shift;
use plotters::element::Text;
use plotters::prelude::{DrawingArea, DrawingBackend};
use plotters::style::FontTransform;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::PlotError;
use crate::matrix_cells;
use crate::render::{Figure, render};
use crate::theme;

/// The binary confusion matrix of one label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMatrix {
    /// Label name, the panel's title.
    pub label: String,
    /// `counts[true][predicted]`, index 0 = negative, 1 = positive:
    /// `[[tn, fp], [fn, tp]]`.
    pub counts: [[u64; 2]; 2],
}

impl LabelMatrix {
    /// A matrix from the four counts.
    pub fn new(label: impl Into<String>, tn: u64, fp: u64, fn_: u64, tp: u64) -> Self {
        LabelMatrix {
            label: label.into(),
            counts: [[tn, fp], [fn_, tp]],
        }
    }
}

/// Draws one 2×2 panel per label, `columns` panels per row, into `out`
/// (`.svg` or `.png`, [`theme::GRID_SIZE`]). Rows are the true class,
/// columns the prediction; cells are shaded by their share of the row.
pub fn confusion_grid(
    matrices: &[LabelMatrix],
    columns: usize,
    out: &Path,
) -> Result<(), PlotError> {
    if matrices.is_empty() {
        return Err(PlotError::InvalidInput("no label matrices given".into()));
    }
    if columns == 0 {
        return Err(PlotError::InvalidInput(
            "the grid needs at least one column".into(),
        ));
    }
    render(&Grid { matrices, columns }, theme::GRID_SIZE, out)
}

struct Grid<'a> {
    matrices: &'a [LabelMatrix],
    columns: usize,
}

const CLASS_NAMES: [&str; 2] = ["neg", "pos"];

impl Figure for Grid<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let body = root
            .margin(8, 8, 8, 8)
            .titled("Confusion matrix per label", theme::bold(theme::TITLE_PT))?;
        let (width, _) = body.dim_in_pixel();
        body.draw(&Text::new(
            "rows: true class · columns: predicted class · shade: share of the row",
            (width as i32 / 2, 4),
            theme::text(theme::NOTE_PT).pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
        let (_, note_h) = body.estimate_text_size("rows", &theme::text(theme::NOTE_PT))?;
        let panels_area = body.margin(note_h as i32 + 12, 0, 0, 0);

        let rows = self.matrices.len().div_ceil(self.columns);
        let panels = panels_area.split_evenly((rows, self.columns));
        for (panel, matrix) in panels.iter().zip(self.matrices) {
            draw_panel(panel, matrix)?;
        }
        Ok(())
    }
}

fn draw_panel<DB: DrawingBackend>(
    panel: &DrawingArea<DB, Shift>,
    matrix: &LabelMatrix,
) -> Result<(), PlotError> {
    let (w, h) = panel.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let title = theme::bold(16.0);
    let tick = theme::text(theme::NOTE_PT);
    let (_, title_h) = panel.estimate_text_size(&matrix.label, &title)?;
    let (_, tick_h) = panel.estimate_text_size("pos", &tick)?;
    let tick_w = CLASS_NAMES
        .iter()
        .map(|n| panel.estimate_text_size(n, &tick).map(|(w, _)| w as i32))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .max()
        .unwrap_or(0);
    let (title_h, tick_h) = (title_h as i32, tick_h as i32);

    let top = title_h + 12;
    let left = tick_h + 6 + tick_w + 6;
    let bottom = 2 * (tick_h + 6) + 4;
    let side = (w - left - 10).min(h - top - bottom).max(2);
    let cell = side / 2;
    let side = cell * 2;
    // Centre the block (matrix plus its left labels) in the panel.
    let x0 = left + (w - left - 10 - side).max(0) / 2;
    let y0 = top;

    panel.draw(&Text::new(
        matrix.label.clone(),
        (x0 + side / 2, 4),
        title.pos(Pos::new(HPos::Center, VPos::Top)),
    ))?;
    let counts: Vec<Vec<u64>> = matrix.counts.iter().map(|r| r.to_vec()).collect();
    matrix_cells::draw_cells(panel, (x0, y0), cell, &counts)?;

    for (i, name) in CLASS_NAMES.iter().enumerate() {
        let middle = i as i32 * cell + cell / 2;
        panel.draw(&Text::new(
            *name,
            (x0 - 6, y0 + middle),
            tick.pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
        panel.draw(&Text::new(
            *name,
            (x0 + middle, y0 + side + 4),
            tick.pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
    }
    panel.draw(&Text::new(
        "predicted",
        (x0 + side / 2, y0 + side + tick_h + 10),
        tick.pos(Pos::new(HPos::Center, VPos::Top)),
    ))?;
    panel.draw(&Text::new(
        "true",
        (x0 - 12 - tick_w - tick_h / 2, y0 + side / 2),
        tick.transform(FontTransform::Rotate270)
            .pos(Pos::new(HPos::Center, VPos::Center)),
    ))?;
    Ok(())
}
