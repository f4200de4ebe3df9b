//! Lays out and rasterises one line of text with a loaded font, for PNG output.
//!
//! Sizes follow plotters' convention (`size / 1.24` is the em in pixels, the
//! same number `plotters-svg` writes as `font-size`), so a PNG and an SVG of
//! the same figure agree. Glyphs are placed at their pen position plus their
//! own bearing, with kerning between pairs.

use ab_glyph::{Font, FontVec, GlyphId, PxScale, ScaleFont, point};

/// The em, in pixels, of plotters' text `size`.
pub(crate) fn em_for(size: f64) -> f32 {
    (size / 1.24) as f32
}

/// The ab_glyph scale at which one em is `em` pixels.
fn scale_for(font: &FontVec, em: f32) -> PxScale {
    let units_per_em = font.units_per_em().unwrap_or(1000.0);
    PxScale::from(em * font.height_unscaled() / units_per_em)
}

/// `(advance width, ascent − descent)` of `text` in pixels.
pub(crate) fn measure(font: &FontVec, em: f32, text: &str) -> (f32, f32) {
    let scaled = font.as_scaled(scale_for(font, em));
    let mut width = 0.0;
    let mut prev: Option<GlyphId> = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            width += scaled.kern(p, id);
        }
        width += scaled.h_advance(id);
        prev = Some(id);
    }
    (width, scaled.ascent() - scaled.descent())
}

/// Calls `ink(x, y, coverage)` for every pixel that `text` touches, with
/// `(0, 0)` at the left end of the ascent line (the top of the measured box).
pub(crate) fn rasterize(font: &FontVec, em: f32, text: &str, mut ink: impl FnMut(i32, i32, f32)) {
    let scale = scale_for(font, em);
    let scaled = font.as_scaled(scale);
    let baseline = scaled.ascent();
    let mut pen = 0.0;
    let mut prev: Option<GlyphId> = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            pen += scaled.kern(p, id);
        }
        let glyph = id.with_scale_and_position(scale, point(pen, baseline));
        if let Some(outline) = font.outline_glyph(glyph) {
            let bounds = outline.px_bounds();
            let (x0, y0) = (bounds.min.x as i32, bounds.min.y as i32);
            outline.draw(|x, y, coverage| {
                if coverage > 0.0 {
                    ink(x0 + x as i32, y0 + y as i32, coverage.min(1.0));
                }
            });
        }
        pen += scaled.h_advance(id);
        prev = Some(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::font;

    /// The system font, or `None` on a machine without one (then PNG output is
    /// covered by the `FontUnavailable` tests instead, and this test is
    /// recorded as skipped).
    fn system_font() -> Option<&'static FontVec> {
        match font::faces() {
            Ok(faces) => Some(&faces.regular),
            Err(err) => {
                crate::test_skip::skip(&format!("needs a system font: {err}"));
                None
            }
        }
    }

    fn ink_columns(font: &FontVec, text: &str) -> (i32, i32, usize) {
        let (mut lo, mut hi, mut n) = (i32::MAX, i32::MIN, 0);
        rasterize(font, 20.0, text, |x, _, _| {
            lo = lo.min(x);
            hi = hi.max(x);
            n += 1;
        });
        (lo, hi, n)
    }

    #[test]
    fn width_grows_with_text_and_size() {
        let Some(font) = system_font() else { return };
        let (ii, h) = measure(font, 20.0, "ii");
        let (mm, h2) = measure(font, 20.0, "MM");
        let (mm_big, h_big) = measure(font, 40.0, "MM");
        assert!(mm > ii && ii > 0.0);
        assert_eq!(h, h2);
        assert!((mm_big - 2.0 * mm).abs() < 0.01 && (h_big - 2.0 * h).abs() < 0.01);
        // One em is 20 px: ascent + descent of a normal face is a bit more.
        assert!(h > 20.0 && h < 30.0, "{h}");
    }

    #[test]
    fn glyphs_keep_their_side_bearings() {
        let Some(font) = system_font() else { return };
        // A digit one is narrow and centred in a wide advance: its ink must
        // start well right of the pen, and "111" must span about three advances.
        let (width, _) = measure(font, 20.0, "1");
        let (lo, hi, n) = ink_columns(font, "1");
        assert!(n > 0);
        assert!(lo as f32 > width * 0.1, "ink starts at {lo} of {width}");
        assert!((hi as f32) < width);
        let (lo3, hi3, _) = ink_columns(font, "111");
        let span = (hi3 - lo3) - (hi - lo);
        assert!(
            (span as f32 - 2.0 * width).abs() <= 2.0,
            "{span} vs {width}"
        );
    }

    #[test]
    fn ink_stays_inside_the_measured_box() {
        let Some(font) = system_font() else { return };
        let text = "Validation AUC (fold 3)";
        let (w, h) = measure(font, 16.0, text);
        rasterize(font, 16.0, text, |x, y, c| {
            assert!(x >= -1 && (x as f32) <= w + 1.0, "x {x}");
            assert!(y >= -1 && (y as f32) <= h + 1.0, "y {y}");
            assert!(c > 0.0 && c <= 1.0);
        });
    }

    #[test]
    fn blank_text_draws_nothing() {
        let Some(font) = system_font() else { return };
        let (_, _, n) = ink_columns(font, "   ");
        assert_eq!(n, 0);
        assert!(measure(font, 20.0, "   ").0 > 0.0);
    }
}
