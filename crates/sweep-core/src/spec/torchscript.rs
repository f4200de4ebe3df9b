//! `arch: {torchscript: PATH}`: a network the user scripted or traced in
//! PyTorch and saved, trained by sweep's own loop.
//!
//! The schema reads such a value as `{"torchscript": PATH}`; this pass, run
//! once the whole document is read, resolves PATH against the experiment
//! file's folder and replaces the value by the run's label
//! `torchscript:<file stem>`. Whether the file is there is a question for
//! planning, as for a dataset file: its runs are "no data" runs until it is
//! saved, and `sweep validate` does not depend on it. The label is what reports,
//! `sweep plan` and `--only` show and match; the file itself is declared on
//! the [`Experiment`] (as image folders are), and only its content (sha256)
//! enters a run's key, so moving the project keeps every result.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::diagnostic::Sink;
use super::validate::expand_home;
use crate::experiment::{Assignment, Experiment, TorchScriptDecl};

/// The key of the arch value that names a TorchScript file.
pub const KEY: &str = "torchscript";

/// What the label of a TorchScript run starts with.
pub const PREFIX: &str = "torchscript:";

/// The name after [`PREFIX`] when `arch` is a TorchScript label.
pub fn label_name(arch: &str) -> Option<&str> {
    arch.strip_prefix(PREFIX)
}

/// Whether `arch` names a TorchScript module rather than a zoo architecture.
pub fn is_torchscript(arch: &str) -> bool {
    label_name(arch).is_some()
}

/// Resolves every `{torchscript: PATH}` arch value of `exp` (grid, `include`,
/// `exclude`) into its label and declares the file on `exp`.
pub(crate) fn resolve(exp: &mut Experiment, sink: &mut Sink) {
    let folder = exp.folder().to_path_buf();
    let mut decls: Vec<TorchScriptDecl> = Vec::new();
    let mut visit = |a: &mut Assignment, at: &str| {
        if a.run_path == "arch" {
            resolve_one(a, at, &folder, &mut decls, sink);
        }
    };
    for axis in &mut exp.axes {
        for a in &mut axis.values {
            visit(a, "grid.arch");
        }
    }
    for (group, entries) in [("include", &mut exp.include), ("exclude", &mut exp.exclude)] {
        for (i, entry) in entries.iter_mut().enumerate() {
            for a in entry.iter_mut() {
                visit(a, &format!("{group}[{i}].arch"));
            }
        }
    }
    exp.torchscript_models = decls;
}

fn resolve_one(
    a: &mut Assignment,
    at: &str,
    folder: &Path,
    decls: &mut Vec<TorchScriptDecl>,
    sink: &mut Sink,
) {
    let written = match &a.value {
        Json::Object(map) => match map.get(KEY).and_then(Json::as_str) {
            Some(p) => p.to_string(),
            None => return,
        },
        Json::String(s) if is_torchscript(s) => {
            sink.error(
                a.pos,
                at,
                format!(
                    "`{s}` names no file; write the saved module's path as {{torchscript: PATH}} \
                     (relative to the experiment file's folder)"
                ),
            );
            return;
        }
        _ => return,
    };
    let path = resolve_path(folder, &written);
    let file = std::fs::canonicalize(&path).unwrap_or(path);
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let label = format!("{PREFIX}{stem}");
    match decls.iter().find(|d| d.label == label) {
        Some(other) if other.path != file => {
            sink.error(
                a.pos,
                format!("{at}.{KEY}"),
                format!(
                    "{} and {} are both labelled `{label}`: runs are labelled by the file's \
                     name, so rename one of them",
                    other.path.display(),
                    file.display()
                ),
            );
            return;
        }
        Some(_) => {}
        None => decls.push(TorchScriptDecl {
            label: label.clone(),
            path: file,
        }),
    }
    a.value = Json::String(label);
}

/// `written` (after `~/` expansion) against the experiment's folder, made
/// absolute and without `.` or `..` steps, so messages name one clear path.
fn resolve_path(folder: &Path, written: &str) -> PathBuf {
    use std::path::Component;
    let path = folder.join(expand_home(written));
    let path = std::path::absolute(&path).unwrap_or(path);
    let mut clean = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    clean
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expand::expand;
    use crate::spec::load_str;

    fn experiment(dir: &Path, arch_axis: &str) -> Result<Experiment, String> {
        let yaml = format!(
            "name: t\ngrid:\n  dataset: synthetic:breastmnist\n  arch: {arch_axis}\n\
             include:\n  - {{dataset: synthetic:breastmnist, arch: {{torchscript: models/net.pt}}, lr: 0.1}}\n"
        );
        load_str(&yaml, &dir.join("exp.yaml")).map_err(|e| e.to_string())
    }

    #[test]
    fn a_path_resolves_against_the_experiment_folder_into_a_label() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("models")).unwrap();
        std::fs::write(tmp.path().join("models/net.pt"), b"module").unwrap();
        let exp = experiment(tmp.path(), "[chest_cnn, {torchscript: models/net.pt}]").unwrap();
        let file = std::fs::canonicalize(tmp.path().join("models/net.pt")).unwrap();
        assert_eq!(
            exp.torchscript_models,
            [TorchScriptDecl {
                label: "torchscript:net".into(),
                path: file.clone(),
            }]
        );
        assert_eq!(
            exp.torchscript_model("torchscript:net").map(|d| &d.path),
            Some(&file)
        );
        let archs: Vec<String> = expand(&exp, false).into_iter().map(|r| r.arch).collect();
        assert_eq!(archs, ["chest_cnn", "torchscript:net", "torchscript:net"]);
    }

    /// A module not saved yet is declared all the same: planning makes its
    /// runs "no data" runs that say so (`stage_modules`' tests).
    #[test]
    fn a_file_not_saved_yet_still_validates() {
        let tmp = tempfile::tempdir().unwrap();
        let exp = experiment(
            tmp.path(),
            "[chest_cnn, {torchscript: ./models/../later.pt}]",
        )
        .unwrap();
        let labels: Vec<&str> = exp
            .torchscript_models
            .iter()
            .map(|d| d.label.as_str())
            .collect();
        assert_eq!(labels, ["torchscript:later", "torchscript:net"]);
        assert_eq!(exp.torchscript_models[0].path, tmp.path().join("later.pt"));
    }

    #[test]
    fn a_value_that_is_not_a_path_is_an_error_at_its_place() {
        let tmp = tempfile::tempdir().unwrap();
        let err = experiment(tmp.path(), "[chest_cnn, {torchscript: 3}]").unwrap_err();
        assert!(
            err.contains(
                "exp.yaml:4:35: grid.arch[1].torchscript: expected the path of a saved \
                 TorchScript module, found 3"
            ),
            "{err}"
        );
    }

    #[test]
    fn two_files_with_one_name_and_bare_labels_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        for dir in ["models", "other"] {
            std::fs::create_dir_all(tmp.path().join(dir)).unwrap();
            std::fs::write(tmp.path().join(dir).join("net.pt"), dir).unwrap();
        }
        let err = experiment(tmp.path(), "{torchscript: other/net.pt}").unwrap_err();
        assert!(err.contains("are both labelled `torchscript:net`"), "{err}");
        let err = experiment(tmp.path(), "torchscript:net").unwrap_err();
        assert!(
            err.contains("`torchscript:net` names no file; write the saved module's path"),
            "{err}"
        );
        let err = experiment(tmp.path(), "{torchscipt: models/net.pt}").unwrap_err();
        assert!(
            err.contains("unknown key `torchscipt`; expected {torchscript: PATH}"),
            "{err}"
        );
    }

    /// A saved module keeps its own weights and layer settings: the options
    /// that would change them are refused where they are written.
    #[test]
    fn options_a_saved_module_ignores_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("net.pt"), b"module").unwrap();
        for (train, field, says) in [
            (
                "pretrained: imagenet",
                "train.pretrained",
                "starts from the weights saved in its file",
            ),
            (
                "init: keras",
                "train.init",
                "`init: keras` would not change it",
            ),
            (
                "batch_norm: {momentum: 0.01}",
                "train.batch_norm",
                "keeps the batch-norm settings",
            ),
            ("stem: small", "train.stem", "has no stem choice"),
        ] {
            let yaml = format!(
                "name: t\ngrid:\n  dataset: synthetic:breastmnist\n  arch: {{torchscript: net.pt}}\n\
                 train:\n  {train}\n"
            );
            let err = load_str(&yaml, &tmp.path().join("exp.yaml"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("exp.yaml:6:"), "{train}: {err}");
            assert!(
                err.contains(&format!("{field}: `torchscript:net`")),
                "{train}: {err}"
            );
            assert!(err.contains(says), "{train}: {err}");
        }
    }
}
