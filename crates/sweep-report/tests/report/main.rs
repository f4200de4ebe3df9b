//! Integration tests of sweep-report in one test binary: reading a results
//! folder, the statistics against reference values, and LaTeX tables that
//! compile and fit the page.

#![allow(
    clippy::unwrap_used,
    reason = "a test panics on an unexpected error, which fails it with the message"
)]

mod paper_table;
mod results_folder;
mod stat_agreement;
