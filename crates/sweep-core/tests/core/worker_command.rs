//! Runs trained by the experiment's own command (`worker:`): how the field
//! reads at the top level, on a grid axis and in an include entry, the
//! diagnostics for a command that cannot start or code that is missing,
//! model names beside the built-in architectures, and the key, which hashes
//! the command and every code file (an edit makes every run stale, and the
//! plan names the file).

use std::path::{Path, PathBuf};

use sweep_core::expand::expand;
use sweep_core::fingerprints::{Fingerprint, FingerprintError, Fingerprints};
use sweep_core::plan::{PlanStatus, plan};
use sweep_core::spec::load_str;
use sweep_core::store::{METRICS_FILE, RunStatus, SPEC_FILE, SpecFile, Store};
use sweep_data::catalog::DatasetRef;

/// A project folder: `train.py`, `mylib/loss.py` and an experiment file.
struct Project {
    tmp: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("train.py"), "print('train')\n").unwrap();
        std::fs::create_dir(tmp.path().join("mylib")).unwrap();
        std::fs::write(tmp.path().join("mylib/loss.py"), "def focal(): pass\n").unwrap();
        Project { tmp }
    }

    fn file(&self) -> PathBuf {
        self.tmp.path().join("x.yaml")
    }

    fn load(&self, yaml: &str) -> Result<sweep_core::experiment::Experiment, Vec<String>> {
        let file = self.file();
        load_str(yaml, &file).map_err(|e| self.relative(e))
    }

    /// [`Project::load`], then the check of the commands that start runs.
    fn load_to_run(&self, yaml: &str) -> Result<sweep_core::experiment::Experiment, Vec<String>> {
        let exp = self.load(yaml)?;
        exp.check_programs(yaml).map_err(|e| self.relative(e))?;
        Ok(exp)
    }

    fn relative(&self, e: sweep_core::spec::SpecErrors) -> Vec<String> {
        e.lines()
            .into_iter()
            .map(|l| l.replace(&format!("{}/", self.tmp.path().display()), ""))
            .collect()
    }
}

const BOTH: &str = "\
name: x
grid:
  dataset: synthetic:breastmnist
  arch: [resnet18, tiny_net]
  worker:
    - none
    - {command: [sh, train.py, --depth, 3], code: [train.py, mylib/]}
  lr: [0.001, 0.01]
zip: [[arch, worker]]
";

#[test]
fn a_grid_axis_zipped_with_arch_puts_a_command_beside_a_built_in_model() {
    let project = Project::new();
    let exp = project.load(BOTH).unwrap();
    let runs = expand(&exp, false);
    let summary: Vec<(String, Option<Vec<String>>)> = runs
        .iter()
        .map(|r| (r.arch.clone(), r.worker.as_ref().map(|w| w.command.clone())))
        .collect();
    let command: Vec<String> = ["sh", "train.py", "--depth", "3"]
        .map(String::from)
        .to_vec();
    assert_eq!(
        summary,
        [
            ("resnet18".to_string(), None),
            ("resnet18".to_string(), None),
            ("tiny_net".to_string(), Some(command.clone())),
            ("tiny_net".to_string(), Some(command)),
        ]
    );
    assert_eq!(runs[2].worker.as_ref().unwrap().code, ["train.py", "mylib"]);
    // A built-in run's JSON has no `worker` at all (its key is unchanged).
    let json = serde_json::to_value(&runs[0]).unwrap();
    assert!(json.get("worker").is_none(), "{json}");
}

#[test]
fn top_level_and_include_commands() {
    let project = Project::new();
    let top = "name: x\nworker: {command: [sh, train.py]}\ngrid:\n  dataset: synthetic:breastmnist\n  arch: my_cnn\n";
    let runs = expand(&project.load(top).unwrap(), false);
    assert_eq!(runs[0].worker.as_ref().unwrap().command, ["sh", "train.py"]);
    assert!(runs[0].worker.as_ref().unwrap().code.is_empty());
    let include = "name: x\ngrid:\n  dataset: synthetic:breastmnist\n  arch: resnet18\ninclude:\n  - {arch: mine, worker: {command: [sh, train.py], code: [./train.py]}}\n";
    let runs = expand(&project.load(include).unwrap(), false);
    assert_eq!(runs.len(), 2);
    assert!(runs[0].worker.is_none());
    assert_eq!(runs[1].arch, "mine");
    assert_eq!(runs[1].worker.as_ref().unwrap().code, ["train.py"]);
}

#[test]
fn a_command_that_cannot_start_or_missing_code_is_an_error_at_its_place() {
    let project = Project::new();
    let yaml = "name: x\nworker:\n  command: [no-such-interpreter-xyz, train.py]\n  code: [train.py, lib/, /etc/passwd]\ngrid:\n  dataset: synthetic:breastmnist\n  arch: my_cnn\n";
    assert_eq!(
        project.load(yaml).unwrap_err(),
        [
            "x.yaml:4:20: worker.code[1]: lib not found",
            "x.yaml:4:26: worker.code[2]: `/etc/passwd`: code paths are relative to the experiment file's folder",
        ]
    );
    // The program is needed only where runs start: reading the file (for a
    // report) accepts it, the check of `run`, `plan` and `validate` does not.
    let missing = "name: x\nworker:\n  command: [no-such-interpreter-xyz, train.py]\n  code: [train.py]\ngrid:\n  dataset: synthetic:breastmnist\n  arch: my_cnn\n";
    assert!(project.load(missing).is_ok());
    assert_eq!(
        project.load_to_run(missing).unwrap_err(),
        [
            "x.yaml:3:13: worker.command[0]: program `no-such-interpreter-xyz` not found on PATH: the command cannot be started",
        ]
    );
    let empty =
        "name: x\nworker: {command: []}\ngrid:\n  dataset: synthetic:breastmnist\n  arch: my_cnn\n";
    assert_eq!(
        project.load(empty).unwrap_err(),
        [
            "x.yaml:2:19: worker.command: the command is empty; give the program and its arguments, e.g. [python3, train.py]"
        ]
    );
    let shell = "name: x\nworker: {command: sh train.py}\ngrid:\n  dataset: synthetic:breastmnist\n  arch: my_cnn\n";
    assert_eq!(
        project.load(shell).unwrap_err(),
        [
            "x.yaml:2:19: worker.command: expected a list of strings (the program, then its arguments), found \"sh train.py\""
        ]
    );
    let relative = "name: x\nworker: {command: [./train.py]}\ngrid:\n  dataset: synthetic:breastmnist\n  arch: my_cnn\n";
    assert_eq!(
        project.load_to_run(relative).unwrap_err(),
        [
            "x.yaml:2:20: worker.command[0]: train.py is not executable: the command cannot be started"
        ]
    );
}

#[test]
fn a_model_name_needs_a_command_that_trains_it() {
    let project = Project::new();
    // Without any command in the file, arch keeps to the built-in names.
    let plain = "name: x\ngrid:\n  dataset: synthetic:breastmnist\n  arch: tiny_net\n";
    let err = project.load(plain).unwrap_err();
    assert!(
        err[0].starts_with(
            "x.yaml:4:9: grid.arch: unknown value `tiny_net`; expected one of `chest_cnn`"
        ),
        "{err:?}"
    );
    // With commands in the file, a run without one may not use a model name.
    let mixed = "name: x\ngrid:\n  dataset: synthetic:breastmnist\n  arch: [resnet18, tiny_net]\ninclude:\n  - {arch: mine, worker: {command: [sh]}}\n";
    let err = project.load(mixed).unwrap_err();
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(
        err[0].starts_with(
            "x.yaml:4:20: grid.arch: unknown value `tiny_net`; expected one of `chest_cnn`"
        ) && err[0].ends_with("(or a `worker:` command that trains it)"),
        "{err:?}"
    );
}

struct Fixed;
impl Fingerprints for Fixed {
    fn fingerprint(&self, _: &DatasetRef, _: &Path) -> Result<Fingerprint, FingerprintError> {
        Ok(("0".repeat(64), None))
    }
}

#[test]
fn the_key_hashes_the_command_and_every_code_file_and_an_edit_is_named() {
    let project = Project::new();
    let results = project.tmp.path().join("results");
    let store = Store::new(&results);
    let exp = project.load(BOTH).unwrap();
    let first = plan(&exp, Default::default(), &results, &store, &Fixed);
    let keys = |p: &sweep_core::plan::Plan| -> Vec<String> {
        p.runs
            .iter()
            .map(|r| r.key.as_ref().unwrap().to_string())
            .collect()
    };
    let before = keys(&first);
    let external = &first.runs[2];
    let code = external.input.as_ref().unwrap().code.as_ref().unwrap();
    let paths: Vec<&str> = code.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["mylib/loss.py", "train.py"]);
    assert_eq!(
        external.spec.worker.as_ref().unwrap().folder.as_deref(),
        Some(std::fs::canonicalize(project.tmp.path()).unwrap().as_path())
    );
    assert!(first.runs[0].input.as_ref().unwrap().code.is_none());

    // Pretend the command's runs finished.
    for run in &first.runs[2..] {
        let key = run.key.clone().unwrap();
        let dir = store
            .prepare(&SpecFile {
                key: key.clone(),
                input: run.input.clone().unwrap(),
                data_file: None,
                experiments: vec!["x".into()],
                workdir: None,
                label: None,
            })
            .unwrap();
        std::fs::write(dir.join(METRICS_FILE), "{}").unwrap();
        Store::complete(&dir, &key, &[SPEC_FILE, METRICS_FILE]).unwrap();
    }
    let done = plan(&exp, Default::default(), &results, &store, &Fixed);
    assert!(done.runs[2..].iter().all(|r| r.status.is_done()));

    // Python's byte-code beside the code changes nothing.
    std::fs::create_dir(project.tmp.path().join("mylib/__pycache__")).unwrap();
    std::fs::write(project.tmp.path().join("mylib/__pycache__/loss.pyc"), "x").unwrap();
    assert_eq!(
        keys(&plan(&exp, Default::default(), &results, &store, &Fixed)),
        before
    );

    // Editing train.py gives the command's runs new keys, and says why.
    std::fs::write(project.tmp.path().join("train.py"), "print('v2')\n").unwrap();
    let edited = plan(&exp, Default::default(), &results, &store, &Fixed);
    let after = keys(&edited);
    assert_eq!(after[..2], before[..2], "built-in runs keep their keys");
    for (i, run) in edited.runs.iter().enumerate().skip(2) {
        assert_ne!(after[i], before[i]);
        let PlanStatus::Store(RunStatus::Stale(why)) = &run.status else {
            panic!("expected stale, got {:?}", run.status);
        };
        assert_eq!(
            why,
            &format!(
                "code changed since it finished ({}): train.py edited",
                &before[i][..12]
            )
        );
    }

    // The command's arguments are part of the key too.
    let deeper = project
        .load(&BOTH.replace("--depth, 3", "--depth, 4"))
        .unwrap();
    let other = keys(&plan(&deeper, Default::default(), &results, &store, &Fixed));
    assert_ne!(other[2], after[2]);
}
