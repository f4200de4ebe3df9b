//! Finds and loads a TrueType font on the machine for PNG output.
//!
//! Raster text has to be drawn from real glyph outlines, but this repository
//! ships no font file. The outlines are read at run time from a font that the
//! operating system installed:
//!
//! 1. the file named by the environment variable [`FONT_ENV`], when it is set
//!    (then nothing else is tried);
//! 2. otherwise the first of [`FONT_CANDIDATES`] that exists — first of all
//!    DejaVu Sans from Debian's `fonts-dejavu-core` package.
//!
//! A bold face next to the regular one (`…-Bold.ttf`) is used for titles when
//! present. When no font is usable, PNG output fails with
//! [`PlotError::FontUnavailable`]; SVG output never needs a font because the
//! viewer renders its text.
//!
//! The search runs once per process; later changes to [`FONT_ENV`] are not seen.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ab_glyph::FontVec;

use crate::error::PlotError;

/// Environment variable naming a `.ttf`/`.otf` file to use for PNG text.
pub const FONT_ENV: &str = "SWEEP_PLOTS_FONT";

/// Where system packages put a sans-serif font, in order of preference.
pub const FONT_CANDIDATES: &[&str] = &[
    // Debian / Ubuntu: fonts-dejavu-core
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    // Arch: ttf-dejavu
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    // Fedora: dejavu-sans-fonts
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    // Debian / Ubuntu: fonts-liberation
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

/// The font family name figures ask for; SVG viewers map it to their own
/// sans-serif face.
pub(crate) const FAMILY: &str = "sans-serif";

/// The font files PNG text is drawn with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FontSource {
    /// The regular face.
    pub regular: PathBuf,
    /// The bold face, when one sits next to the regular face.
    pub bold: Option<PathBuf>,
}

/// Chooses the regular font file: `env_value` when given (and it must exist),
/// else the first existing path of `candidates`. The error says what was tried.
pub fn locate_font(env_value: Option<&OsStr>, candidates: &[&Path]) -> Result<PathBuf, String> {
    if let Some(value) = env_value.filter(|v| !v.is_empty()) {
        let path = PathBuf::from(value);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "{FONT_ENV}={} is not a readable file",
                path.display()
            ))
        };
    }
    candidates
        .iter()
        .find(|p| p.is_file())
        .map(|p| p.to_path_buf())
        .ok_or_else(|| {
            let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
            format!(
                "{FONT_ENV} is not set and none of {} exists",
                tried.join(", ")
            )
        })
}

/// The bold face that font families name after their regular face:
/// `DejaVuSans.ttf` → `DejaVuSans-Bold.ttf`, `X-Regular.ttf` → `X-Bold.ttf`.
pub fn bold_sibling(regular: &Path) -> PathBuf {
    let stem = regular
        .file_stem()
        .and_then(OsStr::to_str)
        .unwrap_or_default();
    let base = stem.strip_suffix("-Regular").unwrap_or(stem);
    let ext = regular.extension().and_then(OsStr::to_str).unwrap_or("ttf");
    regular.with_file_name(format!("{base}-Bold.{ext}"))
}

/// The parsed faces PNG text is drawn with.
pub(crate) struct Faces {
    pub(crate) regular: FontVec,
    pub(crate) bold: Option<FontVec>,
}

struct Loaded {
    source: FontSource,
    faces: Faces,
}

fn loaded() -> Result<&'static Loaded, PlotError> {
    static LOADED: OnceLock<Result<Loaded, String>> = OnceLock::new();
    LOADED
        .get_or_init(load_system_font)
        .as_ref()
        .map_err(|reason| PlotError::FontUnavailable {
            reason: reason.clone(),
            env: FONT_ENV,
        })
}

/// Finds and loads the PNG font once per process.
///
/// Returns the files in use, or [`PlotError::FontUnavailable`] explaining what
/// was searched.
pub fn png_font() -> Result<&'static FontSource, PlotError> {
    loaded().map(|l| &l.source)
}

/// Whether PNG figures can be written on this machine.
pub fn png_available() -> bool {
    png_font().is_ok()
}

/// The loaded faces, for the raster backend.
pub(crate) fn faces() -> Result<&'static Faces, PlotError> {
    loaded().map(|l| &l.faces)
}

fn load_system_font() -> Result<Loaded, String> {
    let env_value = std::env::var_os(FONT_ENV);
    let candidates: Vec<&Path> = FONT_CANDIDATES.iter().map(Path::new).collect();
    let regular_path = locate_font(env_value.as_deref(), &candidates)?;
    let regular = parse_file(&regular_path)?;
    let bold_path = bold_sibling(&regular_path);
    let bold = bold_path
        .is_file()
        .then(|| parse_file(&bold_path).ok())
        .flatten();
    Ok(Loaded {
        source: FontSource {
            regular: regular_path,
            bold: bold.is_some().then_some(bold_path),
        },
        faces: Faces { regular, bold },
    })
}

fn parse_file(path: &Path) -> Result<FontVec, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    FontVec::try_from_vec(bytes)
        .map_err(|_| format!("{} is not a TrueType/OpenType font", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_existing_candidate_wins() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.ttf");
        let present = dir.path().join("present.ttf");
        let later = dir.path().join("later.ttf");
        std::fs::write(&present, b"x").unwrap();
        std::fs::write(&later, b"x").unwrap();
        let found = locate_font(None, &[&missing, &present, &later]).unwrap();
        assert_eq!(found, present);
    }

    #[test]
    fn environment_override_is_used_alone() {
        let dir = tempfile::tempdir().unwrap();
        let chosen = dir.path().join("chosen.otf");
        let other = dir.path().join("other.ttf");
        std::fs::write(&chosen, b"x").unwrap();
        std::fs::write(&other, b"x").unwrap();
        assert_eq!(
            locate_font(Some(chosen.as_os_str()), &[&other]).unwrap(),
            chosen
        );
        let bad = dir.path().join("nope.ttf");
        let err = locate_font(Some(bad.as_os_str()), &[&other]).unwrap_err();
        assert!(err.contains(FONT_ENV) && err.contains("nope.ttf"), "{err}");
    }

    #[test]
    fn nothing_found_lists_what_was_tried() {
        let err = locate_font(None, &[Path::new("/no/such/font.ttf")]).unwrap_err();
        assert!(err.contains("/no/such/font.ttf"), "{err}");
    }

    #[test]
    fn bold_face_is_named_after_the_regular_one() {
        assert_eq!(
            bold_sibling(Path::new("/f/dejavu/DejaVuSans.ttf")),
            Path::new("/f/dejavu/DejaVuSans-Bold.ttf")
        );
        assert_eq!(
            bold_sibling(Path::new("/f/LiberationSans-Regular.ttf")),
            Path::new("/f/LiberationSans-Bold.ttf")
        );
    }

    #[test]
    fn a_file_that_is_not_a_font_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("fake.ttf");
        std::fs::write(&fake, b"definitely not a font").unwrap();
        let Err(err) = parse_file(&fake) else {
            panic!("garbage must not parse as a font");
        };
        assert!(err.contains("not a TrueType"), "{err}");
    }
}
