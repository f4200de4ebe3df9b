//! Sampled axes in whole experiments: each sample is an ordinary grid point
//! with its own run key, written values and drawn values of the same number
//! share a key, more samples keep the earlier runs, and mistakes point at
//! the file, line and column.

use std::path::Path;

use sweep_core::expand::expand;
use sweep_core::hash::KeyInput;
use sweep_core::run_spec::RunSpec;
use sweep_core::spec::load_str;

fn runs(yaml: &str) -> Vec<RunSpec> {
    let exp = load_str(yaml, Path::new("test.yaml")).unwrap_or_else(|e| panic!("{e}"));
    expand(&exp, false)
}

fn key(run: &RunSpec) -> String {
    KeyInput::new(run.clone(), "f".repeat(64)).key().to_string()
}

fn experiment(lr_axis: &str) -> String {
    format!(
        "
name: t
grid:
  dataset: breastmnist
  arch: chest_cnn
  lr: {lr_axis}
  optimizer.weight_decay: {{log_uniform: [1e-6, 1e-3], samples: 2, seed: 7}}
  seed: [0, 1]
"
    )
}

#[test]
fn every_sample_is_a_grid_point_in_the_documented_order() {
    let r = runs(&experiment(
        "{log_uniform: [1e-5, 1e-2], samples: 3, seed: 0}",
    ));
    // lr (3 samples) × weight decay (2 samples) × seed (2), seed innermost.
    assert_eq!(r.len(), 12);
    let lrs: Vec<f64> = r.iter().step_by(4).map(|r| r.lr).collect();
    assert_eq!(lrs.len(), 3);
    assert!(lrs.iter().all(|lr| (1e-5..=1e-2).contains(lr)), "{lrs:?}");
    assert_eq!(r[0].lr, r[3].lr);
    assert_eq!((r[0].seed, r[1].seed), (0, 1));
    assert_eq!(
        r[0].train.optimizer.weight_decay,
        r[1].train.optimizer.weight_decay
    );
    assert_ne!(
        r[0].train.optimizer.weight_decay,
        r[2].train.optimizer.weight_decay
    );
    let mut keys: Vec<String> = r.iter().map(key).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 12, "every grid point has its own key");
}

#[test]
fn a_drawn_value_has_the_key_of_the_same_value_written_by_hand() {
    let sampled = runs(&experiment(
        "{log_uniform: [1e-5, 1e-2], samples: 1, seed: 0}",
    ));
    let written = runs(&experiment(&format!("[{}]", sampled[0].lr)));
    let keys = |r: &[RunSpec]| r.iter().map(key).collect::<Vec<_>>();
    assert_eq!(keys(&sampled), keys(&written));
}

#[test]
fn more_samples_keep_the_runs_of_fewer() {
    let keys = |samples: u32| -> Vec<String> {
        runs(&experiment(&format!(
            "{{log_uniform: [1e-5, 1e-2], samples: {samples}, seed: 0}}"
        )))
        .iter()
        .map(key)
        .collect()
    };
    let (eight, twelve) = (keys(8), keys(12));
    assert_eq!(eight.len(), 8 * 4);
    assert_eq!(twelve.len(), 12 * 4);
    // lr is the outer axis here, so the first 8 samples' runs come first.
    assert_eq!(&twelve[..eight.len()], &eight[..]);
}

#[test]
fn mistakes_in_a_sampled_axis_point_at_the_file_line_and_column() {
    let yaml = experiment("{log_uniform: [0, 1e-2], samples: 8}");
    let err = load_str(&yaml, Path::new("test.yaml")).unwrap_err();
    assert_eq!(
        err.lines(),
        ["test.yaml:6:22: grid.lr.log_uniform[0]: log_uniform bounds must be > 0, found 0"]
    );
    let yaml = experiment("{log_uniform: [1e-5, 1e-2], sample: 8}");
    let lines = load_str(&yaml, Path::new("test.yaml")).unwrap_err().lines();
    assert!(
        lines.iter().any(
            |l| l.starts_with("test.yaml:6:35: grid.lr.sample: unknown key")
                && l.contains("did you mean `samples`")
        ),
        "{lines:?}"
    );
}
