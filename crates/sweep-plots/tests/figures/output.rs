//! What every figure function shares: the format comes from the extension,
//! and failures leave no file behind.

use sweep_plots::{Bar, OutputFormat, PlotError, bar_chart};

fn one_bar() -> Vec<Bar> {
    vec![Bar {
        label: "only".into(),
        mean: 0.5,
        std: None,
    }]
}

#[test]
fn unsupported_extensions_are_refused_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["fig.pdf", "fig.jpg", "fig"] {
        let out = dir.path().join(name);
        let err = bar_chart(&one_bar(), "AUC", &out).unwrap_err();
        assert!(
            matches!(err, PlotError::UnsupportedFormat { .. }),
            "{name}: {err}"
        );
        assert!(!out.exists(), "{name}");
    }
}

#[test]
fn upper_case_extensions_work() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("FIG.SVG");
    bar_chart(&one_bar(), "AUC", &out).unwrap();
    assert!(std::fs::read_to_string(&out).unwrap().starts_with("<svg"));
    assert_eq!(OutputFormat::from_path(&out).unwrap(), OutputFormat::Svg);
}

#[test]
fn missing_folder_is_an_io_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("no/such/folder/fig.svg");
    let err = bar_chart(&one_bar(), "AUC", &out).unwrap_err();
    assert!(matches!(err, PlotError::Io { .. }), "{err}");
    assert!(err.to_string().contains("fig.svg"), "{err}");
}
