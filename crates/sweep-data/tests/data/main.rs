//! Integration tests of sweep-data in one test binary. The download tests
//! need the `download` feature (they start a local HTTP server and fetch
//! from it), so they are compiled only with it.

#![allow(
    clippy::unwrap_used,
    reason = "a test panics on an unexpected error, which fails it with the message"
)]

#[cfg(feature = "download")]
mod download_server;
mod fuzz_corpus;
