//! Bar charts of the main metric.

use sweep_plots::theme::series_rgb;
use sweep_plots::{Bar, DEFAULT_SIZE, PlotError, bar_chart};

use crate::png_file;
use crate::svg_doc::SvgDoc;

fn bars() -> Vec<Bar> {
    vec![
        Bar {
            label: "resnet18".into(),
            mean: 0.9,
            std: Some(0.01),
        },
        Bar {
            label: "resnet50".into(),
            mean: 0.85,
            std: Some(0.02),
        },
        Bar {
            label: "small-cnn".into(),
            mean: 0.8,
            std: None,
        },
    ]
}

#[test]
fn svg_has_one_bar_per_configuration_with_error_bars() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("auc.svg");
    bar_chart(&bars(), "Test AUC", &out).unwrap();
    let svg = SvgDoc::read(&out);

    assert_eq!(svg.size(), DEFAULT_SIZE);
    // Title and y axis.
    assert_eq!(svg.text_count("Test AUC"), 2);
    for label in ["resnet18", "resnet50", "small-cnn"] {
        assert_eq!(svg.text_count(label), 1, "{label}");
    }
    assert_eq!(svg.text_count("0.900 ± 0.010"), 1);
    assert_eq!(svg.text_count("0.850 ± 0.020"), 1);
    assert_eq!(svg.text_count("0.800"), 1);

    let (r, g, b) = series_rgb(0);
    let fill = format!("#{r:02X}{g:02X}{b:02X}");
    let bar_rects = svg
        .elements("rect")
        .into_iter()
        .filter(|e| e.attr("fill") == Some(fill.as_str()))
        .count();
    assert_eq!(bar_rects, 3);
    // Two bars with a spread: a stem and two caps each.
    assert_eq!(svg.polylines_in((33, 33, 33)).len(), 2 * 3);
}

#[test]
fn long_labels_are_turned_upright() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("long.svg");
    let many: Vec<Bar> = (0..8)
        .map(|i| Bar {
            label: format!("resnet18 lr=1e-{i} wd=5e-4 aug=strong"),
            mean: 0.5 + 0.05 * f64::from(i),
            std: Some(0.01),
        })
        .collect();
    bar_chart(&many, "Accuracy", &out).unwrap();
    let svg = SvgDoc::read(&out);
    let rotated = svg
        .elements("text")
        .into_iter()
        .filter(|t| {
            t.attr("transform")
                .is_some_and(|v| v.starts_with("rotate(270"))
        })
        .count();
    // The eight labels, and the y axis title.
    assert_eq!(rotated, 8 + 1);
}

#[test]
fn png_has_the_requested_size_and_bar_colour() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("auc.png");
    let result = bar_chart(&bars(), "Test AUC", &out);
    let Some(pixels) = png_file::written(result, &out, DEFAULT_SIZE) else {
        return;
    };
    // The bars are blended at 85 % over white: look for that shade.
    let (r, g, b) = series_rgb(0);
    let blend = |c: u8| (f64::from(c) * 0.85 + 255.0 * 0.15).round() as u8;
    let shade = (blend(r), blend(g), blend(b));
    let near = pixels
        .rgb
        .iter()
        .filter(|p| {
            p.iter()
                .zip([shade.0, shade.1, shade.2])
                .all(|(a, b)| a.abs_diff(b) <= 2)
        })
        .count();
    assert!(near > 3 * 100 * 100, "three large bars, got {near} pixels");
}

#[test]
fn non_finite_or_negative_values_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bad.svg");
    let mut bad = bars();
    bad[1].mean = f64::NAN;
    let err = bar_chart(&bad, "AUC", &out).unwrap_err();
    assert!(matches!(err, PlotError::InvalidInput(_)) && err.to_string().contains("resnet50"));
    let mut bad = bars();
    bad[0].std = Some(-0.1);
    assert!(bar_chart(&bad, "AUC", &out).is_err());
    assert!(bar_chart(&[], "AUC", &out).is_err());
    assert!(!out.exists());
}
