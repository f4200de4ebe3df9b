//! Picks the image format from the output file name, so every plotting function
//! takes just a path and a figure can be switched between vector and raster by
//! renaming it.

use std::path::Path;

use crate::error::PlotError;

/// The image formats a figure can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Scalable vector graphics; needs no font on the machine.
    Svg,
    /// Portable network graphics; needs a TrueType font (see [`crate::font`]).
    Png,
}

impl OutputFormat {
    /// The format named by `path`'s extension (case-insensitive `.svg` or `.png`).
    pub fn from_path(path: &Path) -> Result<Self, PlotError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("svg") => Ok(OutputFormat::Svg),
            Some("png") => Ok(OutputFormat::Png),
            _ => Err(PlotError::UnsupportedFormat {
                path: path.to_path_buf(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_decides_the_format() {
        assert_eq!(
            OutputFormat::from_path(Path::new("a/b/loss.svg")).unwrap(),
            OutputFormat::Svg
        );
        assert_eq!(
            OutputFormat::from_path(Path::new("ROC.PNG")).unwrap(),
            OutputFormat::Png
        );
    }

    #[test]
    fn unknown_or_missing_extension_is_rejected() {
        for name in ["fig.pdf", "fig", "fig.svg.txt"] {
            let err = OutputFormat::from_path(Path::new(name)).unwrap_err();
            assert!(matches!(err, PlotError::UnsupportedFormat { .. }), "{name}");
            assert!(err.to_string().contains(name));
        }
    }
}
