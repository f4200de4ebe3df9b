//! Integration tests of sweep-report in one test binary: reading a results
//! folder, and the statistics against reference values.

mod results_folder;
mod stat_agreement;
