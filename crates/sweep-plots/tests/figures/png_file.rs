//! Reads a PNG figure back: signature, header dimensions, decoded pixels —
//! or, on a machine without a system font, the error that says so.

use std::path::Path;

use sweep_plots::PlotError;

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// The decoded RGB pixels of a PNG.
pub(crate) struct Pixels {
    pub width: u32,
    pub rgb: Vec<[u8; 3]>,
}

impl Pixels {
    /// How many pixels have exactly this colour.
    pub(crate) fn count(&self, (r, g, b): (u8, u8, u8)) -> usize {
        self.rgb.iter().filter(|p| **p == [r, g, b]).count()
    }

    /// How many pixels in rows `rows` are darker than mid-grey.
    pub(crate) fn dark_in_rows(&self, rows: std::ops::Range<u32>) -> usize {
        let w = self.width as usize;
        self.rgb[rows.start as usize * w..rows.end as usize * w]
            .iter()
            .filter(|p| p.iter().map(|&c| u32::from(c)).sum::<u32>() < 3 * 128)
            .count()
    }
}

/// Checks that `result` wrote a PNG of `size` at `path` and returns its
/// pixels, or — when the machine has no usable font — that it failed with
/// `FontUnavailable` and left no file (then `None`).
pub(crate) fn written(
    result: Result<(), PlotError>,
    path: &Path,
    size: (u32, u32),
) -> Option<Pixels> {
    if !sweep_plots::png_available() {
        let err = result.expect_err("PNG without a font must fail");
        assert!(matches!(err, PlotError::FontUnavailable { .. }), "{err}");
        assert!(
            err.to_string().contains(".svg"),
            "the error points to SVG: {err}"
        );
        assert!(!path.exists());
        eprintln!("no system font here; checked the error instead: {err}");
        return None;
    }
    result.expect("PNG written");
    let bytes = std::fs::read(path).expect("PNG file exists");
    assert_eq!(bytes[..8], SIGNATURE, "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR", "first chunk is the header");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!((be(16), be(20)), size, "header dimensions");

    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("PNG header decodes");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("PNG image decodes");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    assert_eq!((info.width, info.height), size);
    let rgb = buf[..info.buffer_size()]
        .chunks_exact(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    Some(Pixels {
        width: info.width,
        rgb,
    })
}
