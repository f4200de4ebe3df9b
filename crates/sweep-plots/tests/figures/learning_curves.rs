//! Learning-curve figures.

use std::path::Path;

use sweep_plots::theme::series_rgb;
use sweep_plots::{Curve, DEFAULT_SIZE, PlotError, Split, learning_curves};

use crate::png_file;
use crate::svg_doc::SvgDoc;

/// `folds` folds of `epochs` epochs around `level`, spread by ±`spread`.
fn curve(config: &str, split: Split, folds: usize, epochs: usize, level: f64) -> Curve {
    Curve {
        config: config.into(),
        split,
        folds: (0..folds)
            .map(|f| {
                (1..=epochs)
                    .map(|e| level + 0.3 / e as f64 + 0.01 * f as f64)
                    .collect()
            })
            .collect(),
    }
}

fn two_configs() -> Vec<Curve> {
    vec![
        curve("resnet18", Split::Train, 5, 12, 0.2),
        curve("resnet18", Split::Val, 5, 12, 0.4),
        curve("small-cnn", Split::Train, 5, 8, 0.3),
        curve("small-cnn", Split::Val, 5, 8, 0.5),
    ]
}

#[test]
fn svg_has_titles_legend_bands_and_lines() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("loss.svg");
    learning_curves(&two_configs(), "Validation loss", &out).unwrap();
    let svg = SvgDoc::read(&out);

    assert_eq!(svg.size(), DEFAULT_SIZE);
    assert_eq!(svg.text_count("Learning curves: Validation loss"), 1);
    assert_eq!(svg.text_count("Validation loss"), 1, "y axis label");
    assert_eq!(svg.text_count("Epoch"), 1);
    // Legend: each configuration once, plus the two line styles.
    for name in ["resnet18", "small-cnn", "train", "val"] {
        assert_eq!(svg.text_count(name), 1, "{name}");
    }
    // One shaded band per curve.
    assert_eq!(svg.count("polygon"), 4);
    // Validation means are one solid polyline over all epochs; training
    // means are broken into dashes; the legend adds one solid sample each.
    for (index, epochs) in [(0, 12), (1, 8)] {
        let lines = svg.polylines_in(series_rgb(index));
        let full: Vec<_> = lines.iter().filter(|l| l.point_count() == epochs).collect();
        assert_eq!(full.len(), 1, "config {index}: one solid mean line");
        assert_eq!(full[0].attr("stroke-width"), Some("2"));
        let short = lines.iter().filter(|l| l.point_count() == 2).count();
        assert!(short >= 2 * epochs, "config {index}: dashes, got {short}");
    }
}

#[test]
fn one_split_and_one_fold_draw_no_style_legend_and_no_band() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("auc.svg");
    let curves = vec![
        curve("a", Split::Val, 1, 5, 0.6),
        curve("b", Split::Val, 1, 5, 0.7),
        curve("c", Split::Val, 1, 5, 0.8),
    ];
    learning_curves(&curves, "AUC", &out).unwrap();
    let svg = SvgDoc::read(&out);
    assert_eq!(svg.count("polygon"), 0, "a single fold has no spread");
    assert_eq!(svg.text_count("train") + svg.text_count("val"), 0);
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        assert_eq!(svg.text_count(name), 1);
        let lines = svg.polylines_in(series_rgb(i));
        assert_eq!(lines.iter().filter(|l| l.point_count() == 5).count(), 1);
    }
}

#[test]
fn ragged_folds_and_a_single_epoch_still_plot() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("acc.svg");
    let curves = vec![
        Curve {
            config: "early-stopped".into(),
            split: Split::Val,
            folds: vec![vec![0.5, 0.6, 0.7], vec![0.55], vec![0.52, f64::NAN]],
        },
        curve("one-epoch", Split::Val, 3, 1, 0.6),
    ];
    learning_curves(&curves, "Accuracy", &out).unwrap();
    let svg = SvgDoc::read(&out);
    assert_eq!(svg.text_count("early-stopped"), 1);
    assert_eq!(svg.text_count("one-epoch"), 1);
    let main = svg.polylines_in(series_rgb(0));
    assert!(main.iter().any(|l| l.point_count() == 3));
}

#[test]
fn names_are_escaped_in_svg() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("escaped.svg");
    let curves = vec![curve("lr<1e-3 & \"aug\"", Split::Val, 2, 4, 0.5)];
    learning_curves(&curves, "Loss", &out).unwrap();
    let svg = SvgDoc::read(&out);
    assert_eq!(svg.text_count("lr<1e-3 & \"aug\""), 1);
}

#[test]
fn svg_output_is_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.svg"), dir.path().join("b.svg"));
    learning_curves(&two_configs(), "Loss", &a).unwrap();
    learning_curves(&two_configs(), "Loss", &b).unwrap();
    assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
}

#[test]
fn png_has_the_requested_size_and_the_series_colours() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("loss.png");
    let result = learning_curves(&two_configs(), "Loss", &out);
    let Some(pixels) = png_file::written(result, &out, DEFAULT_SIZE) else {
        return;
    };
    assert!(
        pixels.count(series_rgb(0)) > 100,
        "first configuration drawn"
    );
    assert!(
        pixels.count(series_rgb(1)) > 100,
        "second configuration drawn"
    );
    assert!(pixels.dark_in_rows(0..45) > 100, "the title is drawn");
}

#[test]
fn bad_input_is_reported_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.svg");
    let err = learning_curves(&[], "Loss", &out).unwrap_err();
    assert!(matches!(err, PlotError::InvalidInput(_)), "{err}");

    let empty = Curve {
        config: "broken".into(),
        split: Split::Train,
        folds: vec![vec![f64::NAN; 3]],
    };
    let err = learning_curves(&[empty], "Loss", &out).unwrap_err();
    assert!(err.to_string().contains("broken"), "{err}");
    assert!(!Path::new(&out).exists());
}
