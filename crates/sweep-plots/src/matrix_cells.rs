//! Draws a count matrix as shaded, annotated cells — the body shared by the
//! per-label 2×2 grid and the multi-class confusion matrix.
//!
//! Shade encodes the count's share of its row (the true class), so rare
//! classes are as readable as common ones; the cell text gives the raw count.

use plotters::coord::Shift;
use plotters::element::{Rectangle, Text};
use plotters::prelude::{DrawingArea, DrawingBackend};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, WHITE};

use crate::colormap;
use crate::error::PlotError;
use crate::theme;

/// Each count divided by its row total (0 for an empty row).
pub(crate) fn row_shares(counts: &[Vec<u64>]) -> Vec<Vec<f64>> {
    counts
        .iter()
        .map(|row| {
            let total: u64 = row.iter().sum();
            row.iter()
                .map(|&c| {
                    if total == 0 {
                        0.0
                    } else {
                        c as f64 / total as f64
                    }
                })
                .collect()
        })
        .collect()
}

/// Draws `counts` as square cells of side `cell` with the upper-left corner at
/// `origin` (pixels in `area`), each with its count in the middle.
pub(crate) fn draw_cells<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    origin: (i32, i32),
    cell: i32,
    counts: &[Vec<u64>],
) -> Result<(), PlotError> {
    let shares = row_shares(counts);
    let widest = counts
        .iter()
        .flatten()
        .map(|c| c.to_string())
        .max_by_key(String::len)
        .unwrap_or_default();
    let text_pt = count_text_size(area, &widest, cell)?;
    for (r, row) in counts.iter().enumerate() {
        for (c, &count) in row.iter().enumerate() {
            let share = shares[r][c];
            let x = origin.0 + c as i32 * cell;
            let y = origin.1 + r as i32 * cell;
            area.draw(&Rectangle::new(
                [(x + 1, y + 1), (x + cell - 1, y + cell - 1)],
                colormap::blues(share).filled(),
            ))?;
            let style = if colormap::needs_light_text(share) {
                theme::text(text_pt).color(&WHITE)
            } else {
                theme::text(text_pt)
            };
            area.draw(&Text::new(
                count.to_string(),
                (x + cell / 2, y + cell / 2),
                style.pos(Pos::new(HPos::Center, VPos::Center)),
            ))?;
        }
    }
    Ok(())
}

/// The largest text size up to 20 at which `widest` fits in 80 % of a cell.
fn count_text_size<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    widest: &str,
    cell: i32,
) -> Result<f64, PlotError> {
    let mut size = (f64::from(cell) * 0.3).clamp(8.0, 20.0);
    let (w, _) = area.estimate_text_size(widest, &theme::text(size))?;
    let room = f64::from(cell) * 0.8;
    if f64::from(w) > room {
        size = (size * room / f64::from(w)).max(6.0);
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_per_row_and_empty_rows_are_zero() {
        let shares = row_shares(&[vec![3, 1], vec![0, 0], vec![0, 5]]);
        assert_eq!(
            shares,
            vec![vec![0.75, 0.25], vec![0.0, 0.0], vec![0.0, 1.0]]
        );
    }
}
