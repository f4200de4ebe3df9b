//! `--where FIELD=VALUE` (and `--baseline`): which runs a statement is about.
//!
//! These are [`sweep_core::select`] conditions, read exactly as
//! `sweep run --only` reads them (see that module for the rules), checked
//! against the runs being reported; `dataset=` may name the image folders
//! those runs were trained on.

use serde_json::Value;
use sweep_core::select::{FieldCondition, SelectError, Selector};
use sweep_core::spec::Context;

use crate::error::ReportError;

/// Resolves the fields of `conditions` against `views` and reads their values.
pub(crate) fn compile(
    conditions: &[FieldCondition],
    views: &[&Value],
) -> Result<Selector, ReportError> {
    Ok(Selector::compile(
        conditions,
        views,
        &image_folders_of(views),
    )?)
}

/// The image-folder datasets the runs of `views` were trained on.
fn image_folders_of(views: &[&Value]) -> Context {
    let mut names: Vec<String> = Vec::new();
    for view in views {
        if let Some(name) = view["image_folder"]["name"].as_str()
            && !names.iter().any(|n| n == name)
        {
            names.push(name.to_string());
        }
    }
    // Runs trained by a command of their own may name any model.
    let named_models = views.iter().any(|v| !v["worker"].is_null());
    Context::with_image_folders(names).with_named_models(named_models)
}

/// `name` is no field of `views` (for `--group-by`, as for `--where`).
pub(crate) fn unknown_field(name: &str, views: &[&Value]) -> ReportError {
    SelectError::unknown_field(name, views).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::spec;
    use sweep_core::run_view::view;

    #[test]
    fn image_folder_runs_can_be_named_by_dataset() {
        let folder = r#"{"dataset": "medical_mnist", "image_folder": {
            "name": "medical_mnist", "labelling": "class_folders",
            "classes": ["a", "b"], "size": 28, "channels": 1,
            "split": {"train": 0.7, "val": 0.15, "test": 0.15, "seed": 0}}}"#;
        let vs = [view(&spec("{}")), view(&spec(folder))];
        let refs: Vec<&Value> = vs.iter().collect();
        let wanted = ["dataset=medical_mnist".parse().unwrap()];
        let selector = compile(&wanted, &refs).unwrap();
        assert!(!selector.matches(&vs[0]));
        assert!(selector.matches(&vs[1]));
        let err = compile(&wanted, &refs[..1]).unwrap_err();
        assert!(
            matches!(err, ReportError::Select(SelectError::BadValue { .. })),
            "{err}"
        );
    }

    #[test]
    fn unknown_fields_suggest_the_fields_of_the_runs() {
        let vs = [view(&spec("{}"))];
        let refs: Vec<&Value> = vs.iter().collect();
        let err = unknown_field("archh", &refs).to_string();
        assert!(
            err.starts_with("unknown field `archh`; did you mean `arch`?"),
            "{err}"
        );
    }
}
