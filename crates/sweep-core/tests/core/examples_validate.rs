//! Every shipped experiment file must validate: they are the documentation
//! users copy from.

use std::path::Path;

#[test]
fn every_example_experiment_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            if let Err(e) = sweep_core::spec::load(&path) {
                panic!("{e}");
            }
            count += 1;
        }
    }
    assert!(
        count >= 7,
        "expected the reference-study experiments, found {count}"
    );
}
