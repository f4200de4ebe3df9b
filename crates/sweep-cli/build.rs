//! Gives the `sweep-worker` binary the libtorch link arguments worked out by
//! `crates/sweep-train/build.rs` (the rpath to the torch lib directory) so
//! it starts without `LD_LIBRARY_PATH`.
//!
//! `cargo::rustc-link-arg` never crosses package boundaries, so sweep-train
//! publishes the arguments as `links` metadata and this script, run because
//! sweep-cli depends on sweep-train directly, re-emits them for the worker
//! only: the `sweep` binary does not use sweep-train, so rustc does not link
//! libtorch into it, and it must not be forced to load it either. The
//! end-to-end test binary (`tests/cli`) gets them too: it builds the zoo's
//! models to make stand-ins for published weights.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=DEP_SWEEP_TORCH_LINK_ARG_COUNT");
    let count = std::env::var("DEP_SWEEP_TORCH_LINK_ARG_COUNT")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    for i in 0..count {
        let key = format!("DEP_SWEEP_TORCH_LINK_ARG_{i}");
        println!("cargo::rerun-if-env-changed={key}");
        if let Ok(arg) = std::env::var(&key) {
            println!("cargo::rustc-link-arg-bin=sweep-worker={arg}");
            println!("cargo::rustc-link-arg-tests={arg}");
        }
    }
}
