//! A configuration's test-set scores averaged over its runs: the fold (or
//! seed) ensemble.
//!
//! The runs of one configuration are scored on the same official test split,
//! so their predicted probabilities can be averaged sample by sample. Both
//! DeLong's test in `--baseline` comparisons ([`crate::compare`]) and the ROC
//! curves of the HTML report ([`crate::html`]) use these averaged scores, and
//! both must agree on one rule: only runs scored on the same test set (the
//! same labels in the same order, the same number of outputs) are averaged.

use crate::predictions::Predictions;

/// Scores summed over the runs added so far, on one test set.
#[derive(Debug)]
pub(crate) struct Ensemble<'a> {
    test_set: &'a Predictions,
    sum: Vec<f64>,
    runs: usize,
}

impl<'a> Ensemble<'a> {
    /// An ensemble of no runs yet, on the test set `reference` was scored on
    /// (`reference` itself is not added).
    pub(crate) fn on_test_set_of(reference: &'a Predictions) -> Self {
        Ensemble {
            test_set: reference,
            sum: vec![0.0; reference.scores.len()],
            runs: 0,
        }
    }

    /// Adds a run's scores. Returns `false`, adding nothing, when the run
    /// was scored on another test set.
    pub(crate) fn add(&mut self, run: &Predictions) -> bool {
        if run.labels != self.test_set.labels || run.outputs != self.test_set.outputs {
            return false;
        }
        for (s, v) in self.sum.iter_mut().zip(&run.scores) {
            *s += v;
        }
        self.runs += 1;
        true
    }

    /// The number of runs averaged.
    pub(crate) fn runs(&self) -> usize {
        self.runs
    }

    /// The mean score per sample and output, row-major `n × outputs` like
    /// [`Predictions::scores`]. `NaN` everywhere before any run is added.
    pub(crate) fn mean(&self) -> Vec<f64> {
        let runs = self.runs as f64;
        self.sum.iter().map(|s| s / runs).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn predictions(csv: &str) -> Predictions {
        Predictions::parse(csv.as_bytes()).unwrap()
    }

    #[test]
    fn scores_are_averaged_sample_by_sample() {
        let a = predictions("index,y_0,p_0,p_1\n0,1,0.9,0.1\n1,0,0.2,0.8\n");
        let b = predictions("index,y_0,p_0,p_1\n0,1,0.7,0.3\n1,0,0.4,0.6\n");
        let mut ensemble = Ensemble::on_test_set_of(&a);
        assert_eq!(ensemble.runs(), 0);
        assert!(ensemble.add(&a) && ensemble.add(&b));
        assert_eq!(ensemble.runs(), 2);
        let mean = ensemble.mean();
        for (m, want) in mean.iter().zip([0.8, 0.2, 0.3, 0.7]) {
            assert!((m - want).abs() < 1e-15, "{mean:?}");
        }
    }

    #[test]
    fn runs_on_another_test_set_are_refused() {
        let a = predictions("index,y_0,p_0\n0,1,0.9\n1,0,0.2\n");
        let other_labels = predictions("index,y_0,p_0\n0,0,0.9\n1,0,0.2\n");
        let other_outputs = predictions("index,y_0,p_0,p_1\n0,1,0.9,0.1\n1,0,0.2,0.8\n");
        let mut ensemble = Ensemble::on_test_set_of(&a);
        assert!(!ensemble.add(&other_labels));
        assert!(!ensemble.add(&other_outputs));
        assert!(ensemble.mean().iter().all(|v| v.is_nan()));
        assert!(ensemble.add(&a));
        assert_eq!(ensemble.runs(), 1);
        assert_eq!(ensemble.mean(), a.scores);
    }
}
