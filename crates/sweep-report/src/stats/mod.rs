//! Statistical tests behind `--baseline`: is a configuration's difference to
//! the baseline more than fold-to-fold or seed-to-seed noise?
//!
//! Each test mirrors a reference that scientists already trust, and
//! `tests/report/stat_agreement.rs` checks every one against values written by
//! `scripts/stat_fixtures.py` (SciPy, or a NumPy reference where SciPy has
//! none) to 1e-6:
//!
//! * [`ttest`]: paired Student's t-test, `scipy.stats.ttest_rel`.
//! * [`wilcoxon`]: Wilcoxon signed-rank test, `scipy.stats.wilcoxon` defaults.
//! * [`holm`]: Holm's step-down correction for a family of p-values.
//! * [`delong`]: DeLong's test for two correlated ROC AUCs on one test set.
//! * [`ranks`]: average ranks of tied values, shared by the two rank tests.
//!
//! DeLong's AUC is also held, on seeded random inputs, to the AUC of
//! `metrics.json` (sweep-metrics) and of the ROC figures (sweep-plots) by
//! the unit tests in `auc_agreement.rs`.

#[cfg(test)]
mod auc_agreement;
pub mod delong;
pub mod holm;
pub mod ranks;
pub mod ttest;
pub mod wilcoxon;

pub use delong::{DelongError, DelongResult, DelongTest, delong_paired};
pub use holm::holm;
pub use ttest::{TTest, paired_t_test};
pub use wilcoxon::{Wilcoxon, WilcoxonMethod, wilcoxon_signed_rank};
