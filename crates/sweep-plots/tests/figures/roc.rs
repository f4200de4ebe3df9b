//! ROC figures.

use sweep_plots::theme::series_rgb;
use sweep_plots::{DEFAULT_SIZE, PlotError, RocCurve, roc_curves, roc_points, trapezoid_auc};

use crate::png_file;
use crate::svg_doc::SvgDoc;

fn hand_curves() -> Vec<RocCurve> {
    vec![
        RocCurve::from_scores("resnet18", &[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8]),
        RocCurve {
            name: "small-cnn".into(),
            fpr: vec![0.0, 0.2, 0.6, 1.0],
            tpr: vec![0.0, 0.5, 0.8, 1.0],
            auc: 0.66,
        },
    ]
}

#[test]
fn from_scores_matches_roc_points_and_the_trapezoid_area() {
    let c = RocCurve::from_scores("x", &[1, 0, 1, 0, 1], &[0.9, 0.9, 0.5, 0.5, 0.1]);
    let (fpr, tpr) = roc_points(&[1, 0, 1, 0, 1], &[0.9, 0.9, 0.5, 0.5, 0.1]);
    assert_eq!((c.fpr.clone(), c.tpr.clone()), (fpr, tpr));
    assert_eq!(c.auc, trapezoid_auc(&c.fpr, &c.tpr));
    assert!((c.auc - 1.0 / 3.0).abs() < 1e-12);
}

#[test]
fn svg_has_auc_legend_curves_and_diagonal() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("roc.svg");
    roc_curves(&hand_curves(), &out).unwrap();
    let svg = SvgDoc::read(&out);

    assert_eq!(svg.size(), DEFAULT_SIZE);
    assert_eq!(svg.text_count("ROC curves"), 1);
    assert_eq!(svg.text_count("False positive rate"), 1);
    assert_eq!(svg.text_count("True positive rate"), 1);
    assert_eq!(svg.text_count("resnet18 (AUC = 0.750)"), 1);
    assert_eq!(svg.text_count("small-cnn (AUC = 0.660)"), 1);
    assert_eq!(svg.text_count("chance"), 1);
    // Each curve is one polyline through all its points (plus a legend sample).
    for (i, points) in [(0, 5), (1, 4)] {
        let lines = svg.polylines_in(series_rgb(i));
        assert_eq!(
            lines.iter().filter(|l| l.point_count() == points).count(),
            1
        );
    }
    // The chance diagonal is dashed in the reference grey.
    assert!(svg.polylines_in((130, 130, 130)).len() > 10);
}

#[test]
fn fourteen_labels_get_a_legend_beside_the_plot() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("labels.svg");
    let curves: Vec<RocCurve> = (0..14)
        .map(|i| {
            let y: Vec<u8> = (0..40).map(|k| u8::from(k % 2 == 0)).collect();
            let s: Vec<f64> = (0..40)
                .map(|k| f64::from(k % 2 == 0) * 0.1 * f64::from(i) + f64::from(k % 7) / 7.0)
                .collect();
            RocCurve::from_scores(format!("label {i}"), &y, &s)
        })
        .collect();
    roc_curves(&curves, &out).unwrap();
    let svg = SvgDoc::read(&out);
    let legend: Vec<String> = svg
        .texts()
        .into_iter()
        .filter(|t| t.starts_with("label "))
        .collect();
    assert_eq!(legend.len(), 14);
    assert!(legend.iter().all(|t| t.contains("(AUC = ")));

    // So long a legend sits in a column right of the plot, clear of every curve.
    let rightmost_curve = (0..14)
        .flat_map(|i| svg.polylines_in(series_rgb(i)))
        .filter(|l| l.point_count() > 2)
        .flat_map(|l| {
            let points = l.attr("points").unwrap().to_string();
            points
                .split_whitespace()
                .map(|p| p.split(',').next().unwrap().parse::<i32>().unwrap())
                .collect::<Vec<_>>()
        })
        .max()
        .unwrap();
    let legend_x: Vec<i32> = svg
        .elements("text")
        .iter()
        .zip(svg.texts())
        .filter(|(_, t)| t.starts_with("label ") || t == "chance")
        .map(|(e, _)| e.attr("x").unwrap().parse().unwrap())
        .collect();
    assert_eq!(legend_x.len(), 15);
    assert!(
        legend_x.iter().all(|&x| x > rightmost_curve),
        "legend at {legend_x:?}, curves reach {rightmost_curve}"
    );
}

#[test]
fn unknown_auc_reads_not_available_and_nan_points_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nan.svg");
    let curve = RocCurve::from_scores("no negatives", &[1, 1, 1], &[0.2, 0.5, 0.9]);
    assert!(curve.auc.is_nan());
    roc_curves(&[curve], &out).unwrap();
    let svg = SvgDoc::read(&out);
    assert_eq!(svg.text_count("no negatives (AUC = n/a)"), 1);
}

#[test]
fn png_has_the_requested_size_and_curve_colours() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("roc.png");
    let result = roc_curves(&hand_curves(), &out);
    let Some(pixels) = png_file::written(result, &out, DEFAULT_SIZE) else {
        return;
    };
    assert!(pixels.count(series_rgb(0)) > 100);
    assert!(pixels.count(series_rgb(1)) > 100);
}

#[test]
fn mismatched_rates_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bad.svg");
    let bad = RocCurve {
        name: "bad".into(),
        fpr: vec![0.0, 1.0],
        tpr: vec![0.0],
        auc: 0.5,
    };
    let err = roc_curves(&[bad], &out).unwrap_err();
    assert!(matches!(err, PlotError::InvalidInput(_)) && err.to_string().contains("bad"));
    assert!(matches!(
        roc_curves(&[], &out),
        Err(PlotError::InvalidInput(_))
    ));
}
