//! The shared look of every figure — sizes, fonts, colours, grid — so the
//! charts read as one set in a paper.

use plotters::style::{FontStyle, IntoFont, RGBColor, TextStyle};

use crate::font::FAMILY;

/// Default canvas size, in pixels, of single charts.
pub const DEFAULT_SIZE: (u32, u32) = (800, 500);
/// Canvas size of the per-label confusion grid.
pub const GRID_SIZE: (u32, u32) = (1200, 700);
/// Canvas size of a multi-class confusion matrix (square plot plus colour bar).
pub const MATRIX_SIZE: (u32, u32) = (800, 650);

pub(crate) const TITLE_PT: f64 = 24.0;
pub(crate) const AXIS_PT: f64 = 18.0;
pub(crate) const TICK_PT: f64 = 15.0;
pub(crate) const LEGEND_PT: f64 = 15.0;
pub(crate) const NOTE_PT: f64 = 13.0;

pub(crate) const INK: RGBColor = RGBColor(33, 33, 33);
pub(crate) const GRID: RGBColor = RGBColor(225, 225, 225);
pub(crate) const FRAME: RGBColor = RGBColor(160, 160, 160);
pub(crate) const REFERENCE: RGBColor = RGBColor(130, 130, 130);

/// Line colours: the Okabe–Ito colour-blind-safe set first (without yellow,
/// which vanishes on white), then further distinct hues for many labels.
const PALETTE: [RGBColor; 14] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(140, 86, 75),
    RGBColor(127, 127, 127),
    RGBColor(148, 103, 189),
    RGBColor(188, 189, 34),
    RGBColor(214, 39, 40),
    RGBColor(23, 190, 207),
    RGBColor(44, 110, 44),
];

/// The colour of the `index`-th series (cycles after the palette runs out).
pub(crate) fn series_color(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// The `(r, g, b)` of the `index`-th series, for matching colours elsewhere:
/// configurations in the order given, ROC curves in the order given.
pub fn series_rgb(index: usize) -> (u8, u8, u8) {
    let RGBColor(r, g, b) = series_color(index);
    (r, g, b)
}

/// Regular text at `size`.
pub(crate) fn text(size: f64) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&INK)
}

/// Bold text at `size`, for titles.
pub(crate) fn bold(size: f64) -> TextStyle<'static> {
    (FAMILY, size)
        .into_font()
        .style(FontStyle::Bold)
        .color(&INK)
}

/// Decimal places that make tick labels over a range of `span` distinct but short.
pub(crate) fn decimals_for_span(span: f64) -> usize {
    match span.abs() {
        s if s >= 50.0 => 0,
        s if s >= 5.0 => 1,
        s if s >= 0.2 => 2,
        s if s >= 0.02 => 3,
        _ => 4,
    }
}

/// `(low, high)` widened by 5 % each side, and made non-empty.
pub(crate) fn padded(low: f64, high: f64) -> (f64, f64) {
    if high > low {
        let pad = (high - low) * 0.05;
        (low - pad, high + pad)
    } else {
        let pad = if low == 0.0 { 0.5 } else { low.abs() * 0.05 };
        (low - pad, high + pad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palette_colours_are_distinct() {
        for i in 0..PALETTE.len() {
            for j in 0..i {
                assert_ne!(series_color(i), series_color(j));
            }
        }
        assert_eq!(series_color(PALETTE.len()), series_color(0));
    }

    #[test]
    fn tick_precision_follows_the_range() {
        assert_eq!(decimals_for_span(0.8), 2);
        assert_eq!(decimals_for_span(0.05), 3);
        assert_eq!(decimals_for_span(12.0), 1);
        assert_eq!(decimals_for_span(300.0), 0);
    }

    #[test]
    fn padding_never_leaves_an_empty_range() {
        assert_eq!(padded(0.0, 1.0), (-0.05, 1.05));
        let (lo, hi) = padded(0.7, 0.7);
        assert!(lo < 0.7 && hi > 0.7);
        let (lo, hi) = padded(0.0, 0.0);
        assert!(lo < 0.0 && hi > 0.0);
    }
}
