//! Replays the `npz_reader` fuzz corpus and every crash reproducer on the
//! stable toolchain, through the same harness the fuzzer runs: no input may
//! panic. `scripts/fuzz` grows and minimises the corpus.

#[path = "../../../../fuzz/harness/npz_reader.rs"]
mod harness;
#[path = "../../../../fuzz/harness/replay.rs"]
mod replay;

#[test]
fn fuzz_corpus_and_crash_reproducers_do_not_panic() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    replay::replay(&repo, "npz_reader", harness::run);
}
