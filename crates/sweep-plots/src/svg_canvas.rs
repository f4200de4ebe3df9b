//! An SVG backend whose text metrics come from a table instead of a font file.
//!
//! `plotters` lays out titles, tick labels and legends by asking the backend how
//! wide a string is, which by default means loading a font file. An SVG viewer
//! renders its own text, so SVG output should need no font on the machine that
//! writes it. [`SvgCanvas`] wraps `SVGBackend` and answers those questions from
//! per-character advance widths close to common sans-serif faces. As a side
//! effect, SVG figures are byte-for-byte the same on every machine.

use plotters::backend::SVGBackend;
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};

/// `SVGBackend` with font-free text measurement.
pub(crate) struct SvgCanvas<'a> {
    inner: SVGBackend<'a>,
}

impl<'a> SvgCanvas<'a> {
    /// Draws into `buf`, which holds the finished document after `present`.
    pub(crate) fn with_string(buf: &'a mut String, size: (u32, u32)) -> Self {
        SvgCanvas {
            inner: SVGBackend::with_string(buf, size),
        }
    }
}

/// Advance width of one character as a fraction of the em size.
fn advance(c: char) -> f64 {
    match c {
        ' ' => 0.32,
        'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '!' | '\'' | '|' => 0.28,
        'f' | 't' | 'r' | 'I' | '(' | ')' | '[' | ']' | '-' | '/' => 0.38,
        'm' | 'w' | 'M' | 'W' | '%' | '@' => 0.88,
        'A'..='Z' => 0.70,
        '0'..='9' => 0.64,
        c if c.is_ascii() => 0.58,
        // Wider scripts and symbols: err on the generous side.
        _ => 0.80,
    }
}

/// Estimated `(width, height)` in pixels of `text` at plotters' font `size`.
///
/// plotters writes `font-size = size / 1.24` into the SVG; that is the em.
pub(crate) fn text_extent(text: &str, size: f64) -> (u32, u32) {
    let em = size / 1.24;
    let width: f64 = text.chars().map(advance).sum::<f64>() * em;
    (width.ceil() as u32, em.ceil() as u32)
}

impl DrawingBackend for SvgCanvas<'_> {
    type ErrorType = <SVGBackend<'static> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.fill_polygon(vert, style)
    }

    fn draw_text<T: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &T,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_text(text, style, pos)
    }

    fn estimate_text_size<T: BackendTextStyle>(
        &self,
        text: &str,
        style: &T,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        // Like the default implementation, this ignores any rotation.
        Ok(text_extent(text, style.size()))
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.blit_bitmap(pos, size, src)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longer_and_wider_text_measures_wider() {
        let (narrow, h) = text_extent("illi", 20.0);
        let (wide, h2) = text_extent("MWMW", 20.0);
        let (longer, _) = text_extent("illiilli", 20.0);
        assert!(wide > narrow);
        assert!(longer > narrow);
        assert_eq!(h, h2);
        assert_eq!(h, (20.0f64 / 1.24).ceil() as u32);
    }

    #[test]
    fn width_scales_with_size() {
        let (small, _) = text_extent("Validation AUC", 12.0);
        let (large, _) = text_extent("Validation AUC", 24.0);
        assert!(large >= 2 * small - 1 && large <= 2 * small + 1);
    }

    #[test]
    fn empty_text_has_no_width() {
        assert_eq!(text_extent("", 16.0).0, 0);
    }
}
