//! The CI recipe cannot rot: the GitHub Actions workflow in `examples/ci/`
//! must run `examples/ci/smoke.sh`, every script a step names must exist and
//! be executable, the caches and the uploaded artifact must be the folders
//! the script fills, and `scripts/test` must run the same script (it does,
//! so the suite exercises every sweep step of the workflow). The experiment
//! the workflow smokes must validate.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn workflow() -> Value {
    let path = repo().join("examples/ci/sweep-smoke.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn steps(workflow: &Value) -> Vec<&Value> {
    let jobs = workflow["jobs"].as_object().expect("jobs");
    jobs.values()
        .flat_map(|job| job["steps"].as_array().expect("steps"))
        .collect()
}

/// The `with.path` entries of the steps using `action` (`actions/cache`).
fn paths_of<'a>(steps: &[&'a Value], action: &str) -> Vec<&'a str> {
    steps
        .iter()
        .filter(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(action)))
        .flat_map(|s| s["with"]["path"].as_str().unwrap_or("").lines())
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect()
}

#[test]
fn the_workflow_runs_the_script_scripts_test_runs() {
    let wf = workflow();
    let steps = steps(&wf);
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    let smoke: Vec<&&str> = runs
        .iter()
        .filter(|r| r.contains("examples/ci/smoke.sh"))
        .collect();
    assert_eq!(smoke.len(), 1, "one step runs the smoke script: {runs:?}");
    // Every repository script a step names exists and is executable.
    for word in runs.iter().flat_map(|r| r.split_whitespace()) {
        if word.starts_with("examples/") || word.starts_with("scripts/") {
            let path = repo().join(word);
            let mode = std::fs::metadata(&path)
                .unwrap_or_else(|e| panic!("{word}: {e}"))
                .permissions()
                .mode();
            assert!(mode & 0o111 != 0, "{word} is not executable");
        }
    }
    let suite = std::fs::read_to_string(repo().join("scripts/test")).unwrap();
    assert!(
        suite
            .lines()
            .any(|l| !l.trim_start().starts_with('#') && l.contains("examples/ci/smoke.sh")),
        "scripts/test must run examples/ci/smoke.sh"
    );
}

#[test]
fn the_caches_and_the_artifact_are_the_folders_the_script_fills() {
    let wf = workflow();
    let steps = steps(&wf);
    let smoke = steps
        .iter()
        .filter_map(|s| s["run"].as_str())
        .find(|r| r.contains("examples/ci/smoke.sh"))
        .unwrap();
    let args: Vec<&str> = smoke
        .split_whitespace()
        .skip_while(|w| !w.ends_with("smoke.sh"))
        .skip(1)
        .collect();
    let (results, report) = (args[0], args[1]);
    let cached = paths_of(&steps, "actions/cache");
    assert!(cached.contains(&results), "{cached:?}");
    assert!(
        cached
            .iter()
            .any(|p| p.starts_with("~/.cache/sweep/torch-")),
        "the PyTorch environment scripts/torch-env.sh creates is cached: {cached:?}"
    );
    let uploaded = paths_of(&steps, "actions/upload-artifact");
    assert_eq!(
        uploaded
            .iter()
            .map(|p| p.trim_end_matches('/'))
            .collect::<Vec<_>>(),
        [report]
    );
    // The experiment the workflow smokes is a valid one.
    let job = wf["jobs"].as_object().unwrap().values().next().unwrap();
    let experiment = job["env"]["SWEEP_SMOKE_EXPERIMENT"].as_str().unwrap();
    sweep_core::spec::load(&repo().join(experiment)).unwrap();
}
