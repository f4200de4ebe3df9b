//! The shipped TorchScript example end to end: `export_se_net.py` saves the
//! module with the project's torch, `sweep run` trains it next to zoo
//! architectures, and one `sweep report` compares them.
//!
//! Experiment files that name a TorchScript module cannot run before the
//! module is saved, and the repository keeps no `.pt` file:
//! [`with_exported_modules`] copies such a file into a scratch copy of the
//! repository layout with its modules exported there, for the smoke run of
//! every shipped experiment too. Without a python that imports torch it
//! records a skip, with why.

use std::path::{Path, PathBuf};

use crate::common::torch_finder::{NO_TORCH, find_torch_python};
use crate::common::{self, sweep, text};

/// The TorchScript files that shipped experiments name, each with the script
/// (arguments: the output path) that saves it; paths from the repository root.
const EXPORTED_MODULES: &[(&str, &str)] = &[(
    "examples/torchscript/se_net.pt",
    "examples/torchscript/export_se_net.py",
)];

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `experiment` (a file in the repository's `experiments/`) ready to run:
/// itself when it names no TorchScript module, otherwise a copy under
/// `scratch` laid out as the repository is, beside the modules it names,
/// exported there. `None`, with the skip recorded, without torch.
pub(crate) fn with_exported_modules(experiment: &Path, scratch: &Path) -> Option<PathBuf> {
    let yaml = std::fs::read_to_string(experiment).unwrap();
    if !yaml.contains("torchscript:") {
        return Some(experiment.to_path_buf());
    }
    let Some(python) = find_torch_python() else {
        common::skip(&format!(
            "{}: {NO_TORCH} (it exports the TorchScript module)",
            experiment.display()
        ));
        return None;
    };
    let layout = scratch.join("repository");
    let copy = layout
        .join("experiments")
        .join(experiment.file_name().unwrap());
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::write(&copy, &yaml).unwrap();
    let mut exported = 0;
    for (module, script) in EXPORTED_MODULES {
        let name = Path::new(module).file_name().unwrap().to_string_lossy();
        if !yaml.contains(&*name) {
            continue;
        }
        let out = std::process::Command::new(&python)
            .arg(repository().join(script))
            .arg(layout.join(module))
            .output()
            .unwrap();
        assert!(out.status.success(), "{script}: {}", text(&out));
        exported += 1;
    }
    assert!(
        exported > 0,
        "{} names a TorchScript module that EXPORTED_MODULES does not list",
        experiment.display()
    );
    Some(copy)
}

#[test]
fn the_se_net_example_is_trained_and_reported_beside_the_zoo() {
    let scratch = tempfile::tempdir().unwrap();
    let experiment = repository().join("experiments/torchscript_vs_zoo.yaml");
    let Some(file) = with_exported_modules(&experiment, scratch.path()) else {
        return;
    };
    let results = scratch.path().join("results");
    let (f, r) = (file.to_str().unwrap(), results.to_str().unwrap());
    let plan = sweep(&["plan", f, "--smoke", "--synthetic", "--results", r]);
    assert!(plan.status.success(), "{}", text(&plan));
    assert!(
        text(&plan).contains("torchscript:se_net"),
        "{}",
        text(&plan)
    );

    let run = sweep(&[
        "run",
        f,
        "--smoke",
        "--synthetic",
        "--results",
        r,
        "--devices",
        "cpu",
    ]);
    assert!(run.status.success(), "{}", text(&run));
    assert!(
        text(&run).contains("6/6 runs done (6 trained, 0 cached)"),
        "{}",
        text(&run)
    );
    let staged: Vec<PathBuf> = std::fs::read_dir(results.join(".torchscript"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pt"))
        .collect();
    assert_eq!(staged.len(), 1, "{staged:?}");

    let report = sweep(&[
        "report",
        f,
        "--smoke",
        "--synthetic",
        "--results",
        r,
        "--baseline",
        "arch=resnet18",
    ]);
    let shown = text(&report);
    assert!(report.status.success(), "{shown}");
    for arch in ["chest_cnn", "resnet18", "torchscript:se_net"] {
        assert!(
            shown.contains(arch),
            "{arch} missing from the report:\n{shown}"
        );
    }
}

/// A TorchScript run that dies after epoch 2 of 3 continues at epoch 3 and
/// ends with exactly the numbers of an uninterrupted run: the checkpoint
/// holds the module's parameters and its batch-norm running statistics
/// (which TorchScript lists apart from parameters, and sweep saves too).
#[test]
fn a_killed_torchscript_run_resumes_with_identical_results() {
    let Some(python) = find_torch_python() else {
        common::skip(NO_TORCH);
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let module = scratch.path().join("se_net.pt");
    let out = std::process::Command::new(&python)
        .arg(repository().join("examples/torchscript/export_se_net.py"))
        .arg(&module)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let file = scratch.path().join("resume.yaml");
    std::fs::write(
        &file,
        "name: resume_torchscript
grid:
  dataset: synthetic:breastmnist
  arch: {torchscript: se_net.pt}
  lr: 1e-3
train:
  epochs: 3
  batch_size: 32
  subset: 128
  augmentation: {rotation: 10, hflip: 0.5}
",
    )
    .unwrap();
    let metrics = common::assert_resumes_like_an_uninterrupted_run(&file, scratch.path(), 3);
    assert_eq!(metrics["arch"], "torchscript:se_net");
}
