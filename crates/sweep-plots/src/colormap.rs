//! The sequential colour scale of confusion matrices: white for 0 through blue
//! to dark navy for 1, with the text colour that stays readable on each shade.

use plotters::style::RGBColor;

/// Colour stops at 0, 0.5 and 1.
const STOPS: [(f64, (f64, f64, f64)); 3] = [
    (0.0, (247.0, 251.0, 255.0)),
    (0.5, (100.0, 165.0, 210.0)),
    (1.0, (10.0, 45.0, 105.0)),
];

/// The colour for `t` in `[0, 1]` (clamped; NaN counts as 0).
pub(crate) fn blues(t: f64) -> RGBColor {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let i = usize::from(t > STOPS[1].0);
    let (t0, c0) = STOPS[i];
    let (t1, c1) = STOPS[i + 1];
    let u = (t - t0) / (t1 - t0);
    let mix = |a: f64, b: f64| (a + (b - a) * u).round() as u8;
    RGBColor(mix(c0.0, c1.0), mix(c0.1, c1.1), mix(c0.2, c1.2))
}

/// Whether text on the shade for `t` should be white rather than dark.
pub(crate) fn needs_light_text(t: f64) -> bool {
    let RGBColor(r, g, b) = blues(t);
    // Relative luminance with the usual Rec. 709 weights.
    0.2126 * f64::from(r) + 0.7152 * f64::from(g) + 0.0722 * f64::from(b) < 128.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_and_middle_hit_the_stops() {
        assert_eq!(blues(0.0), RGBColor(247, 251, 255));
        assert_eq!(blues(0.5), RGBColor(100, 165, 210));
        assert_eq!(blues(1.0), RGBColor(10, 45, 105));
        assert_eq!(blues(-3.0), blues(0.0));
        assert_eq!(blues(7.0), blues(1.0));
        assert_eq!(blues(f64::NAN), blues(0.0));
    }

    #[test]
    fn shades_darken_monotonically() {
        let lum = |t: f64| {
            let RGBColor(r, g, b) = blues(t);
            u32::from(r) + u32::from(g) + u32::from(b)
        };
        for k in 0..10 {
            let (a, b) = (f64::from(k) / 10.0, f64::from(k + 1) / 10.0);
            assert!(lum(b) < lum(a), "{a} -> {b}");
        }
    }

    #[test]
    fn text_turns_white_only_on_dark_cells() {
        assert!(!needs_light_text(0.0));
        assert!(!needs_light_text(0.3));
        assert!(needs_light_text(1.0));
    }
}
