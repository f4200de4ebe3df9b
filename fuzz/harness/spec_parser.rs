//! One input of the `spec_parser` fuzz target. Also compiled (via `#[path]`)
//! into `crates/sweep-core/tests/fuzz_corpus.rs`, so the stable test suite
//! replays the corpus through exactly the code the fuzzer ran.

use std::path::Path;

use sweep_core::expand::{self, Variant};
use sweep_core::hash::KeyInput;
use sweep_core::spec::{self, Experiment, diagnostic::Sink};

/// Expansion is tried only when the experiment has at most this many runs:
/// `max_runs` may allow far more, and each input must stay fast.
const MAX_EXPANDED_RUNS: usize = 2_000;

/// Validates `data` as the CLI would a file's bytes, renders any errors the
/// way the CLI prints them, and expands what is accepted.
pub(super) fn run(data: &[u8]) {
    match spec::load_bytes(data.to_vec(), Path::new("experiments/fuzz.yaml")) {
        Ok(exp) => expand_capped(exp),
        Err(errors) => {
            let _ = errors.to_string();
            let _ = errors.lines();
        }
    }
}

fn expand_capped(mut exp: Experiment) {
    // The run-count check of validation, again under a lower ceiling.
    exp.max_runs = exp.max_runs.min(MAX_EXPANDED_RUNS);
    let mut sink = Sink::default();
    expand::check(&exp, &mut sink);
    if !sink.is_empty() {
        return;
    }
    for smoke in [false, true] {
        for synthetic in [false, true] {
            for run in expand::expand_variant(&exp, Variant { smoke, synthetic }) {
                let _ = run.dataset_ref();
                let _ = (run.weighting_label(), run.pos_weight_label());
                let _ = run.fold_label();
                let _ = KeyInput::new(run, String::new()).key();
            }
        }
    }
}
