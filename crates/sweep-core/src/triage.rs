//! Run triage: what `sweep run` does with each run of a plan, decided once
//! for every backend and every command that reports on a plan.
//!
//! ```text
//!  no key (data missing) ─▶ NoData      skipped, "invalid-data: …"
//!  done, not --force     ─▶ Cached
//!  failed, not retried   ─▶ Failed      skipped, "kind: message (earlier attempt; …)"
//!  lease held elsewhere  ─▶ Elsewhere   another process is training it
//!  anything else         ─▶ Pending     to train
//! ```
//!
//! The local scheduler, the Slurm backend, `sweep status` and `sweep plan`
//! all read these verdicts, so a run is never "cached" for one command and
//! "pending" for another, and the skip messages read the same everywhere.

use crate::plan::{PlanStatus, PlannedRun};
use crate::protocol::lease;
use crate::store::{Failure, RunStatus, Store};

/// The flags of `sweep run` that change a verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TriageOptions {
    /// Retrain runs even if cached (`--force`): nothing is cached, failed
    /// or held elsewhere, every keyed run is pending.
    pub force: bool,
    /// Train runs whose last attempt failed (`--retry-failed`).
    pub retry_failed: bool,
}

/// What happens to one run.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Done and verified in the store: nothing to train.
    Cached,
    /// Another process holds the run's lease and is training it (its pid,
    /// when it wrote one).
    Elsewhere { holder: Option<u32> },
    /// The last attempt failed and is not retried. `holder` is the process
    /// training it again right now, if any.
    Failed {
        failure: Failure,
        holder: Option<u32>,
    },
    /// Its dataset could not be read, so it has no key.
    NoData(String),
    /// To train.
    Pending,
}

impl Verdict {
    /// Why a skipped run is not trained, as `sweep run` prints it after
    /// `failed: <label>: `; `None` for runs that are not skipped.
    pub fn skip_message(&self) -> Option<String> {
        match self {
            Verdict::NoData(why) => Some(format!("invalid-data: {why}")),
            Verdict::Failed { failure, .. } => Some(format!(
                "{}: {} (earlier attempt; --retry-failed to retry)",
                failure.kind, failure.message
            )),
            _ => None,
        }
    }

    /// Skipped: never trained by this `sweep run`, and counted as failed.
    pub fn is_skipped(&self) -> bool {
        matches!(self, Verdict::NoData(_) | Verdict::Failed { .. })
    }
}

/// One run and its verdict.
#[derive(Debug, Clone)]
pub struct Triaged<'a> {
    pub run: &'a PlannedRun,
    /// The human label the run is reported under.
    pub label: String,
    pub verdict: Verdict,
}

/// Every run asked for, in plan order, with its verdict.
#[derive(Debug, Clone, Default)]
pub struct Triage<'a> {
    pub runs: Vec<Triaged<'a>>,
}

impl<'a> Triage<'a> {
    pub fn total(&self) -> usize {
        self.runs.len()
    }

    pub fn cached(&self) -> usize {
        self.count(|v| matches!(v, Verdict::Cached))
    }

    pub fn elsewhere(&self) -> usize {
        self.count(|v| matches!(v, Verdict::Elsewhere { .. }))
    }

    pub fn pending(&self) -> usize {
        self.count(|v| matches!(v, Verdict::Pending))
    }

    /// The skipped runs with their labels and why, in plan order.
    pub fn skipped(&self) -> Vec<(String, String)> {
        self.runs
            .iter()
            .filter_map(|t| Some((t.label.clone(), t.verdict.skip_message()?)))
            .collect()
    }

    /// The runs a backend has to look after: pending ones and those another
    /// process is training, in plan order.
    pub fn to_follow(&self) -> impl Iterator<Item = &Triaged<'a>> {
        self.runs
            .iter()
            .filter(|t| matches!(t.verdict, Verdict::Pending | Verdict::Elsewhere { .. }))
    }

    fn count(&self, pick: impl Fn(&Verdict) -> bool) -> usize {
        self.runs.iter().filter(|t| pick(&t.verdict)).count()
    }
}

/// Decides every run of `runs` (each with its label) against `store`.
/// Reads the store's statuses as planned and probes each uncached run's
/// lease; writes nothing.
pub fn triage<'a>(
    runs: impl IntoIterator<Item = (&'a PlannedRun, String)>,
    store: &Store,
    options: &TriageOptions,
) -> Triage<'a> {
    let runs = runs
        .into_iter()
        .map(|(run, label)| Triaged {
            verdict: verdict(run, store, options),
            run,
            label,
        })
        .collect();
    Triage { runs }
}

fn verdict(run: &PlannedRun, store: &Store, options: &TriageOptions) -> Verdict {
    let (Some(key), Some(_)) = (&run.key, &run.input) else {
        return Verdict::NoData(match &run.status {
            PlanStatus::MissingData(why) => why.clone(),
            PlanStatus::Store(_) => "the run has no key".into(),
        });
    };
    if options.force {
        return Verdict::Pending;
    }
    if run.status == PlanStatus::Store(RunStatus::Done) {
        return Verdict::Cached;
    }
    let holder = lease::holder(&store.run_dir(key));
    match &run.status {
        PlanStatus::Store(RunStatus::Failed(failure)) if !options.retry_failed => Verdict::Failed {
            failure: failure.clone(),
            holder,
        },
        _ if holder.is_some() => Verdict::Elsewhere { holder },
        _ => Verdict::Pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{KeyInput, RunKey};
    use crate::protocol::lease::{Acquire, Lease};
    use crate::store::FailureKind;

    fn planned(status: PlanStatus, keyed: bool) -> PlannedRun {
        let exp = crate::spec::load_str(
            "name: t\ngrid:\n  dataset: synthetic:breastmnist\n  arch: small_cnn\n  lr: 1e-3\n",
            std::path::Path::new("t.yaml"),
        )
        .expect("a valid experiment");
        let spec = crate::expand::expand_variant(&exp, Default::default()).remove(0);
        let input = KeyInput::new(spec.clone(), "print".into());
        let key: RunKey = input.key();
        PlannedRun {
            spec,
            input: keyed.then_some(input),
            key: keyed.then_some(key),
            data_file: None,
            status,
        }
    }

    fn failure() -> Failure {
        Failure {
            kind: FailureKind::Diverged,
            message: "loss is NaN at epoch 2".into(),
            attempts: 1,
        }
    }

    fn decide(run: &PlannedRun, store: &Store, force: bool, retry_failed: bool) -> Verdict {
        let options = TriageOptions {
            force,
            retry_failed,
        };
        triage([(run, "r".to_string())], store, &options).runs[0]
            .verdict
            .clone()
    }

    #[test]
    fn verdicts_follow_the_store_and_the_flags() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        let done = planned(PlanStatus::Store(RunStatus::Done), true);
        assert_eq!(decide(&done, &store, false, false), Verdict::Cached);
        assert_eq!(decide(&done, &store, true, false), Verdict::Pending);

        let failed = planned(PlanStatus::Store(RunStatus::Failed(failure())), true);
        let skipped = decide(&failed, &store, false, false);
        assert_eq!(
            skipped.skip_message().as_deref(),
            Some("diverged: loss is NaN at epoch 2 (earlier attempt; --retry-failed to retry)")
        );
        assert!(skipped.is_skipped());
        assert_eq!(decide(&failed, &store, false, true), Verdict::Pending);
        assert_eq!(decide(&failed, &store, true, false), Verdict::Pending);

        let stale = planned(PlanStatus::Store(RunStatus::Stale("x".into())), true);
        assert_eq!(decide(&stale, &store, false, false), Verdict::Pending);

        let missing = planned(PlanStatus::MissingData("no file a.npz".into()), false);
        for force in [false, true] {
            let v = decide(&missing, &store, force, true);
            assert_eq!(
                v.skip_message().as_deref(),
                Some("invalid-data: no file a.npz")
            );
        }
    }

    #[test]
    fn a_leased_run_is_elsewhere_unless_forced_or_failed() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        let pending = planned(PlanStatus::Store(RunStatus::Pending), true);
        let dir = store.run_dir(pending.key.as_ref().unwrap());
        let _lease = match Lease::try_acquire(&dir).unwrap() {
            Acquire::Held(lease) => lease,
            Acquire::Busy(_) => panic!("a fresh lease is free"),
        };
        let me = Some(std::process::id());
        assert_eq!(
            decide(&pending, &store, false, false),
            Verdict::Elsewhere { holder: me }
        );
        assert_eq!(decide(&pending, &store, true, false), Verdict::Pending);
        // A failed run stays skipped, and says who is training it again.
        let failed = PlannedRun {
            status: PlanStatus::Store(RunStatus::Failed(failure())),
            ..pending.clone()
        };
        assert_eq!(
            decide(&failed, &store, false, false),
            Verdict::Failed {
                failure: failure(),
                holder: me
            }
        );
    }

    #[test]
    fn counts_and_skips_keep_plan_order() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path());
        let runs = [
            planned(PlanStatus::MissingData("gone".into()), false),
            planned(PlanStatus::Store(RunStatus::Done), true),
            planned(PlanStatus::Store(RunStatus::Pending), true),
            planned(PlanStatus::Store(RunStatus::Failed(failure())), true),
        ];
        let t = triage(
            runs.iter()
                .zip(["a", "b", "c", "d"])
                .map(|(r, l)| (r, l.to_string())),
            &store,
            &TriageOptions::default(),
        );
        assert_eq!(
            (t.total(), t.cached(), t.pending(), t.elsewhere()),
            (4, 1, 1, 0)
        );
        let skipped: Vec<String> = t.skipped().into_iter().map(|(l, _)| l).collect();
        assert_eq!(skipped, ["a", "d"]);
        let follow: Vec<&str> = t.to_follow().map(|r| r.label.as_str()).collect();
        assert_eq!(follow, ["c"]);
    }
}
