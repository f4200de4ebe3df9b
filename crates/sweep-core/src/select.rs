//! `FIELD=VALUE` selectors (`sweep run --only lr=1e-3`, `sweep report --where`).
//!
//! The value is read exactly as the same field in an experiment file, so
//! `lr=1e-3` selects runs whose lr was written `0.001`, and `dataset=chestmnist`
//! is checked against the dataset catalog.

use serde_json::Value as Json;

use crate::run_spec::RunSpec;
use crate::spec::diagnostic::Sink;
use crate::spec::{Context, fields, node};

#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    /// Path inside the resolved run (`lr`, `train.batch_size`).
    pub run_path: &'static str,
    pub value: Json,
    /// As written, for messages.
    pub text: String,
}

impl Selector {
    /// [`Selector::parse`] that also accepts the experiment's image-folder
    /// dataset names (`dataset=medical_mnist`).
    pub fn parse_for(text: &str, exp: &crate::experiment::Experiment) -> Result<Selector, String> {
        Selector::parse_in(text, &Context::of_experiment(exp))
    }

    /// Parses `FIELD=VALUE`; `fold=2` selects the second fold (1-based, as `plan` shows it).
    pub fn parse(text: &str) -> Result<Selector, String> {
        Selector::parse_in(text, &Context::default())
    }

    fn parse_in(text: &str, cx: &Context) -> Result<Selector, String> {
        let (field, value) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}`: expected FIELD=VALUE, e.g. lr=1e-3"))?;
        let (field, value) = (field.trim(), value.trim());
        if field == "fold" {
            let n: u32 = value
                .parse()
                .map_err(|_| format!("`{text}`: fold is a number from 1"))?;
            return Ok(Selector {
                run_path: "fold",
                value: Json::from(n.saturating_sub(1)),
                text: text.into(),
            });
        }
        let def =
            fields::lookup(field).ok_or_else(|| format!("`{text}`: unknown field `{field}`"))?;
        let doc = node::parse(&format!("v: {value}\n"))
            .map_err(|e| format!("`{text}`: {}", e.message))?;
        let node = doc
            .get("v")
            .ok_or_else(|| format!("`{text}`: missing value"))?;
        let mut sink = Sink::default();
        let json = def.convert(node, field, cx, &mut sink);
        match (json, sink.diagnostics.first()) {
            (Some(v), None) => Ok(Selector {
                run_path: def.run_path,
                value: v,
                text: text.into(),
            }),
            (_, Some(d)) => Err(format!("`{text}`: {}", d.message)),
            (None, None) => Err(format!("`{text}`: invalid value")),
        }
    }

    pub fn matches(&self, run: &RunSpec) -> bool {
        let json = serde_json::to_value(run).unwrap_or_default();
        let mut cursor = &json;
        for part in self.run_path.split('.') {
            cursor = &cursor[part];
        }
        *cursor == self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expand::expand;
    use std::path::Path;

    #[test]
    fn selects_by_canonical_value() {
        let exp = crate::spec::load_str(
            "name: t\ngrid:\n  dataset: breastmnist\n  arch: [chest_cnn, small_cnn]\n  lr: [0.001, 0.01]\n  folds: 3\n",
            Path::new("t.yaml"),
        )
        .unwrap();
        let runs = expand(&exp, false);
        let lr = Selector::parse("lr=1e-3").unwrap();
        let arch = Selector::parse("arch=small_cnn").unwrap();
        let fold = Selector::parse("fold=2").unwrap();
        let picked: Vec<_> = runs
            .iter()
            .filter(|r| lr.matches(r) && arch.matches(r) && fold.matches(r))
            .collect();
        assert_eq!(picked.len(), 1);
        assert_eq!(
            (picked[0].arch.as_str(), picked[0].fold),
            ("small_cnn", Some(1))
        );
        assert!(Selector::parse("lr=-1").unwrap_err().contains("> 0"));
        assert!(
            Selector::parse("colour=red")
                .unwrap_err()
                .contains("unknown field")
        );
    }
}
