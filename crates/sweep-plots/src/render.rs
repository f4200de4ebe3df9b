//! Turns a figure description into a file, choosing the backend from the file
//! extension, so each chart is written once against the generic `plotters`
//! drawing area and works for both SVG and PNG.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::{DrawingArea, DrawingBackend, IntoDrawingArea, WHITE};

use crate::error::PlotError;
use crate::font;
use crate::format::OutputFormat;
use crate::png_canvas::PngCanvas;
use crate::svg_canvas::SvgCanvas;

/// Something that can paint itself onto a blank canvas of any backend.
pub(crate) trait Figure {
    /// Paints the figure; the canvas is already filled white.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError>;
}

/// Writes `figure` at `size` pixels to `out` (`.svg` or `.png`).
pub(crate) fn render(figure: &impl Figure, size: (u32, u32), out: &Path) -> Result<(), PlotError> {
    let format = OutputFormat::from_path(out)?;
    let io_error = |source| PlotError::Io {
        path: out.to_path_buf(),
        source,
    };
    match format {
        OutputFormat::Svg => {
            let mut document = String::new();
            {
                let root = SvgCanvas::with_string(&mut document, size).into_drawing_area();
                paint(figure, &root)?;
            }
            std::fs::write(out, document).map_err(io_error)
        }
        OutputFormat::Png => {
            let faces = font::faces()?;
            // Fail with the path and the OS error rather than an encoder message.
            std::fs::File::create(out).map_err(io_error)?;
            let root = PngCanvas::new(out, size, faces).into_drawing_area();
            let painted = paint(figure, &root);
            drop(root);
            if painted.is_err() {
                // Leave no half-written or empty image behind.
                let _ = std::fs::remove_file(out);
            }
            painted
        }
    }
}

fn paint<DB: DrawingBackend>(
    figure: &impl Figure,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), PlotError> {
    root.fill(&WHITE)?;
    figure.draw(root)?;
    root.present()?;
    Ok(())
}
