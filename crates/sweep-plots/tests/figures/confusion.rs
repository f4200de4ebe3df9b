//! Per-label confusion grids and multi-class confusion matrices.

use sweep_plots::{
    GRID_SIZE, LabelMatrix, MATRIX_SIZE, PlotError, confusion_grid, confusion_matrix,
};

use crate::png_file;
use crate::svg_doc::SvgDoc;

const CHEST: [&str; 14] = [
    "Atelectasis",
    "Cardiomegaly",
    "Effusion",
    "Infiltration",
    "Mass",
    "Nodule",
    "Pneumonia",
    "Pneumothorax",
    "Consolidation",
    "Edema",
    "Emphysema",
    "Fibrosis",
    "Pleural_Thickening",
    "Hernia",
];

/// Distinct counts per label so each can be found in the output.
fn chest_matrices() -> Vec<LabelMatrix> {
    CHEST
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let i = i as u64;
            LabelMatrix::new(*label, 5000 + i, 100 + i, 200 + i, 300 + i)
        })
        .collect()
}

#[test]
fn chest_grid_has_every_label_and_count() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chest.svg");
    confusion_grid(&chest_matrices(), 5, &out).unwrap();
    let svg = SvgDoc::read(&out);

    assert_eq!(svg.size(), GRID_SIZE);
    assert_eq!(svg.text_count("Confusion matrix per label"), 1);
    for label in CHEST {
        assert_eq!(svg.text_count(label), 1, "{label} titles its panel");
    }
    for m in chest_matrices() {
        for count in m.counts.iter().flatten() {
            assert_eq!(svg.text_count(&count.to_string()), 1, "{} {count}", m.label);
        }
    }
    // The white background plus four cells per label; nothing for the
    // fifteenth, empty, slot of the 3×5 grid.
    assert_eq!(svg.count("rect"), 1 + 4 * 14);
    // Each panel names its axes.
    assert_eq!(svg.text_count("predicted"), 14);
    assert_eq!(svg.text_count("true"), 14);
    assert_eq!(svg.text_count("neg"), 28);
}

#[test]
fn grid_panels_are_laid_out_in_rows_of_columns() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("grid.svg");
    confusion_grid(&chest_matrices()[..6], 3, &out).unwrap();
    let svg = SvgDoc::read(&out);
    let position = |label: &str| {
        let at = svg.source.find(&format!("\n{label}\n")).unwrap();
        let tag = &svg.source[svg.source[..at].rfind("<text ").unwrap()..at];
        let num = |key: &str| -> f64 {
            let start = tag.find(&format!(" {key}=\"")).unwrap() + key.len() + 3;
            tag[start..start + tag[start..].find('"').unwrap()]
                .parse()
                .unwrap()
        };
        (num("x"), num("y"))
    };
    let (a, b, c, d) = (
        position("Atelectasis"),
        position("Cardiomegaly"),
        position("Effusion"),
        position("Infiltration"),
    );
    assert!(
        a.0 < b.0 && b.0 < c.0 && a.1 == b.1 && b.1 == c.1,
        "first row"
    );
    assert!(
        d.1 > a.1 && d.0 == a.0,
        "fourth label starts the second row"
    );
}

#[test]
fn grid_png_has_the_grid_size() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chest.png");
    let result = confusion_grid(&chest_matrices(), 5, &out);
    let Some(pixels) = png_file::written(result, &out, GRID_SIZE) else {
        return;
    };
    assert!(pixels.dark_in_rows(0..40) > 100, "the title is drawn");
}

#[test]
fn grid_rejects_nothing_to_draw_and_zero_columns() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g.svg");
    assert!(matches!(
        confusion_grid(&[], 5, &out),
        Err(PlotError::InvalidInput(_))
    ));
    assert!(matches!(
        confusion_grid(&chest_matrices(), 0, &out),
        Err(PlotError::InvalidInput(_))
    ));
}

fn three_classes() -> Vec<Vec<u64>> {
    vec![vec![50, 2, 3], vec![4, 60, 5], vec![6, 7, 70]]
}

#[test]
fn matrix_svg_has_cells_counts_names_and_colour_bar() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cm.svg");
    let names = ["adipose", "debris", "tumor epithelium"];
    confusion_matrix(&three_classes(), &names, &out).unwrap();
    let svg = SvgDoc::read(&out);

    assert_eq!(svg.size(), MATRIX_SIZE);
    assert_eq!(svg.text_count("Confusion matrix"), 1);
    assert_eq!(svg.text_count("Predicted"), 1);
    assert_eq!(svg.text_count("True"), 1);
    for name in names {
        assert_eq!(svg.text_count(name), 2, "{name} on both axes");
    }
    for count in three_classes().iter().flatten() {
        assert_eq!(svg.text_count(&count.to_string()), 1, "{count}");
    }
    assert_eq!(svg.count("rect"), 1 + 9, "background plus k² cells");
    assert!(svg.count("polygon") > 10, "a graded colour bar");
    assert_eq!(svg.text_count("share of true class"), 1);
    for tick in ["0.00", "0.50", "1.00"] {
        assert_eq!(svg.text_count(tick), 1, "{tick}");
    }
}

#[test]
fn matrix_cells_darken_with_the_row_share() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("shade.svg");
    confusion_matrix(&[vec![9, 1], vec![0, 0]], &["x", "y"], &out).unwrap();
    let svg = SvgDoc::read(&out);
    let fills: Vec<String> = svg
        .elements("rect")
        .iter()
        .skip(1)
        .map(|r| r.attr("fill").unwrap().to_string())
        .collect();
    let luminance = |hex: &str| {
        (1..7)
            .step_by(2)
            .map(|i| u32::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .sum::<u32>()
    };
    assert_eq!(fills.len(), 4);
    assert!(
        luminance(&fills[0]) < luminance(&fills[1]),
        "90 % darker than 10 %"
    );
    assert_eq!(fills[2], fills[3], "an empty row is blank");
}

#[test]
fn matrix_png_has_the_matrix_size() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cm.png");
    let names = vec!["a".to_string(), "b".to_string(), "c".to_string()];
    let result = confusion_matrix(&three_classes(), &names, &out);
    png_file::written(result, &out, MATRIX_SIZE);
}

#[test]
fn matrix_rejects_shapes_that_do_not_match() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bad.svg");
    let ragged = vec![vec![1, 2], vec![3]];
    let err = confusion_matrix(&ragged, &["a", "b"], &out).unwrap_err();
    assert!(err.to_string().contains("row 1"), "{err}");
    let err = confusion_matrix(&three_classes(), &["a", "b"], &out).unwrap_err();
    assert!(err.to_string().contains("2 class names"), "{err}");
    let empty: Vec<Vec<u64>> = Vec::new();
    assert!(confusion_matrix::<&str>(&empty, &[], &out).is_err());
    assert!(!out.exists());
}
