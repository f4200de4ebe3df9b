//! The one-line label a run is named by on its own: the rows of `sweep plan`
//! and `sweep status`, `sweep run`'s progress and its failure lines.
//!
//! Runs of one experiment often differ in one field only (class weighting,
//! weight decay, batch size); a label made of a fixed set of fields prints
//! two such runs the same. So labels are made for the runs of a plan
//! together: dataset, architecture and learning rate always, then every
//! other field that takes more than one value among those runs, named as an
//! experiment file names it (`class_weighting=balanced`,
//! `optimizer.weight_decay=1e-4`), then fold and seed:
//!
//! ```text
//! chestmnist chest_cnn lr=1e-3 class_weighting=balanced fold 1/5 seed 0
//! ```
//!
//! Every field is written in one [`Notation`] across the runs, as in report
//! tables, so `lr=1e-3` stands beside `lr=1e-4`, never `lr=0.001`.

use serde_json::Value;

use crate::notation::Notation;
use crate::run_spec::RunSpec;
use crate::run_view::{Field, flatten, same_value, view};

/// Fields every label shows in its fixed places.
const ALWAYS: &[&str] = &["dataset", "arch", "lr", "fold", "seed"];

/// Labels for the runs of one plan (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct RunLabels {
    lr: Notation,
    /// Fields other than [`ALWAYS`] that vary among the runs, in spec order.
    varying: Vec<(Field, Notation)>,
}

impl RunLabels {
    /// Finds the fields that vary among `specs` (the runs of one plan).
    pub fn new<'a>(specs: impl IntoIterator<Item = &'a RunSpec>) -> RunLabels {
        let views: Vec<Value> = specs.into_iter().map(view).collect();
        let refs: Vec<&Value> = views.iter().collect();
        let notation_of = |f: &Field| Notation::of_column(refs.iter().filter_map(|v| f.get(v)));
        let varies = |f: &Field| {
            let first = refs.first().and_then(|v| f.get(v));
            refs.iter().any(|v| match (f.get(v), first) {
                (Some(a), Some(b)) => !same_value(a, b),
                (a, b) => a.is_some() != b.is_some(),
            })
        };
        let fields = flatten(&refs);
        let lr = fields
            .iter()
            .find(|f| f.name == "lr")
            .map(notation_of)
            .unwrap_or_default();
        // An image folder's definition is named by its dataset already.
        let varying = fields
            .into_iter()
            .filter(|f| !ALWAYS.contains(&f.name.as_str()))
            .filter(|f| f.path.first().is_none_or(|p| p != "image_folder"))
            .filter(|f| varies(f))
            .map(|f| {
                let notation = notation_of(&f);
                (f, notation)
            })
            .collect();
        RunLabels { lr, varying }
    }

    /// `breastmnist chest_cnn lr=0.001 fold 1/3 seed 0`, with every varying
    /// field between the learning rate and the fold.
    pub fn label(&self, spec: &RunSpec) -> String {
        let mut out = format!("{} {} lr={}", spec.dataset, spec.arch, self.lr(spec));
        let others = self.other_fields(spec, &[]);
        if !others.is_empty() {
            out.push(' ');
            out.push_str(&others);
        }
        out.push_str(&format!(" fold {} seed {}", spec.fold_label(), spec.seed));
        out
    }

    /// The learning rate in the notation of the plan's learning rates.
    pub fn lr(&self, spec: &RunSpec) -> String {
        self.lr.display(&Value::from(spec.lr))
    }

    /// `class_weighting=balanced batch_size=64`: the varying fields other
    /// than dataset, arch, lr, fold, seed and those named in `shown` (for a
    /// table whose columns print some of them already).
    pub fn other_fields(&self, spec: &RunSpec, shown: &[&str]) -> String {
        let wanted: Vec<&(Field, Notation)> = self
            .varying
            .iter()
            .filter(|(f, _)| !shown.contains(&f.name.as_str()))
            .collect();
        if wanted.is_empty() {
            return String::new();
        }
        let v = view(spec);
        wanted
            .iter()
            .map(|(field, notation)| {
                let value = field
                    .get(&v)
                    .map_or_else(|| "absent".to_string(), |x| notation.display(x));
                format!("{}={value}", field.name)
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expand::expand;
    use std::path::Path;

    fn labels(grid: &str) -> Vec<String> {
        let yaml = format!("name: t\ngrid:\n  dataset: chestmnist\n{grid}");
        let exp = crate::spec::load_str(&yaml, Path::new("t.yaml")).unwrap();
        let runs = expand(&exp, false);
        let labels = RunLabels::new(&runs);
        runs.iter().map(|r| labels.label(r)).collect()
    }

    #[test]
    fn runs_that_differ_in_one_field_get_different_labels() {
        let got = labels("  arch: chest_cnn\n  lr: 0.001\n  class_weighting: [none, balanced]\n");
        assert_eq!(
            got,
            [
                "chestmnist chest_cnn lr=0.001 class_weighting=none fold official seed 0",
                "chestmnist chest_cnn lr=0.001 class_weighting=balanced fold official seed 0",
            ]
        );
    }

    #[test]
    fn fields_that_do_not_vary_are_left_out() {
        let got = labels("  arch: [chest_cnn, resnet18]\n  lr: 0.001\n  folds: 2\n");
        assert_eq!(
            got,
            [
                "chestmnist chest_cnn lr=0.001 fold 1/2 seed 0",
                "chestmnist chest_cnn lr=0.001 fold 2/2 seed 0",
                "chestmnist resnet18 lr=0.001 fold 1/2 seed 0",
                "chestmnist resnet18 lr=0.001 fold 2/2 seed 0",
            ]
        );
    }

    #[test]
    fn every_varying_field_is_named_and_numbers_share_a_notation() {
        let got = labels(
            "  arch: chest_cnn\n  lr: [1e-3, 1e-4]\n  pos_weight: [none, 10]\n  optimizer.weight_decay: [0, 1e-4]\n",
        );
        assert_eq!(got.len(), 8);
        assert_eq!(
            got[0],
            "chestmnist chest_cnn lr=1e-3 pos_weight=none optimizer.weight_decay=0 fold official seed 0"
        );
        assert_eq!(
            got[7],
            "chestmnist chest_cnn lr=1e-4 pos_weight=10 optimizer.weight_decay=1e-4 fold official seed 0"
        );
        let exp = crate::spec::load_str(
            "name: t\ngrid:\n  dataset: chestmnist\n  arch: chest_cnn\n  lr: [1e-3, 1e-4]\n  batch_size: [32, 64]\n  pos_weight: [none, 10]\n",
            Path::new("t.yaml"),
        )
        .unwrap();
        let runs = expand(&exp, false);
        let l = RunLabels::new(&runs);
        assert_eq!(l.lr(&runs[0]), "1e-3");
        assert_eq!(l.other_fields(&runs[0], &["pos_weight"]), "batch_size=32");
        let mut unique = got.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), got.len(), "{got:#?}");
    }
}
