//! A bitmap backend that draws text with this crate's own glyph layout.
//!
//! `plotters`' raster text either needs fontconfig and freetype (`ttf`) or,
//! with `ab_glyph`, drops each glyph's side bearing so that narrow glyphs such
//! as "1" leave gaps. [`PngCanvas`] wraps `BitMapBackend`, passes shapes
//! through, and measures and draws text with [`crate::glyphs`] using the font
//! from [`crate::font`], honouring anchors, rotation and bold titles.

use std::path::Path;

use plotters::backend::BitMapBackend;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
    FontStyle,
};

use ab_glyph::FontVec;

use crate::font::Faces;
use crate::glyphs;

/// `BitMapBackend` (PNG on `present`) with real glyph text.
pub(crate) struct PngCanvas<'a> {
    inner: BitMapBackend<'a>,
    faces: &'static Faces,
}

impl<'a> PngCanvas<'a> {
    /// A canvas that writes `path` when presented.
    pub(crate) fn new(path: &'a Path, size: (u32, u32), faces: &'static Faces) -> Self {
        PngCanvas {
            inner: BitMapBackend::new(path, size),
            faces,
        }
    }

    fn face<T: BackendTextStyle>(&self, style: &T) -> &'static FontVec {
        match style.style() {
            FontStyle::Bold => self.faces.bold.as_ref().unwrap_or(&self.faces.regular),
            _ => &self.faces.regular,
        }
    }
}

impl DrawingBackend for PngCanvas<'_> {
    type ErrorType = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

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
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let font = self.face(style);
        let em = glyphs::em_for(style.size());
        let (w, h) = glyphs::measure(font, em, text);
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0,
            HPos::Center => -(w / 2.0).round() as i32,
            HPos::Right => -w.round() as i32,
        };
        let dy = match anchor.v_pos {
            VPos::Top => 0,
            VPos::Center => -(h / 2.0).round() as i32,
            VPos::Bottom => -h.round() as i32,
        };
        let transform = style.transform();
        let mut result = Ok(());
        glyphs::rasterize(font, em, text, |x, y, coverage| {
            if result.is_err() {
                return;
            }
            let (tx, ty) = transform.transform(x + dx, y + dy);
            result = self.inner.draw_pixel(
                (pos.0 + tx, pos.1 + ty),
                BackendColor {
                    alpha: color.alpha * f64::from(coverage),
                    rgb: color.rgb,
                },
            );
        });
        result
    }

    fn estimate_text_size<T: BackendTextStyle>(
        &self,
        text: &str,
        style: &T,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        let (w, h) = glyphs::measure(self.face(style), glyphs::em_for(style.size()), text);
        Ok((w.ceil() as u32, h.ceil() as u32))
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
