//! Each file in `tests/fixtures/invalid/` is one kind of bad input. Its
//! rendered diagnostics (one `file:line:column: field: message` per problem)
//! must equal the sibling `.expected` file. Run with `SWEEP_BLESS=1` to
//! rewrite the expectations after a deliberate wording change, then review
//! the diff.

use std::path::{Path, PathBuf};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_invalid_fixture_gives_its_expected_diagnostics() {
    let bless = std::env::var_os("SWEEP_BLESS").is_some();
    let mut mismatches = Vec::new();
    let files = fixtures();
    assert!(files.len() >= 20, "fixture corpus went missing");
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let err = match sweep_core::spec::load(&file) {
            Ok(_) => {
                mismatches.push(format!("{name}: was accepted"));
                continue;
            }
            Err(e) => e,
        };
        // Print paths relative to the fixture folder so expectations are portable.
        let rendered: String = err
            .lines()
            .iter()
            .map(|l| l.replacen(&file.display().to_string(), &name, 1) + "\n")
            .collect();
        let expected_path = file.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, &rendered).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != rendered {
            mismatches.push(format!(
                "{name}:\n--- expected\n{expected}--- got\n{rendered}"
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn all_problems_are_reported_at_once_with_source_excerpt() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/invalid/many_problems.yaml");
    let err = sweep_core::spec::load(&file).unwrap_err();
    assert!(err.diagnostics.len() >= 5, "{err}");
    let shown = err.to_string();
    assert!(shown.contains("  lr: -1"), "source line is shown:\n{shown}");
    assert!(shown.ends_with(&format!(
        "{} problems in {}",
        err.diagnostics.len(),
        file.display()
    )));
}
