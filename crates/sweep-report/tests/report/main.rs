//! Integration tests of sweep-report in one test binary: reading a results
//! folder, and the statistics against reference values.

#![allow(
    clippy::unwrap_used,
    reason = "a test panics on an unexpected error, which fails it with the message"
)]

mod results_folder;
mod stat_agreement;
