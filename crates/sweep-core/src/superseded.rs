//! Finished runs of an earlier trainer version, found for the runs that
//! replace them.
//!
//! A trainer version is part of every run key, so a run finished by an
//! earlier trainer never counts as done under this one: its numbers are
//! never mixed with this trainer's. But a researcher who finished a sweep
//! and upgraded should not see those runs as merely "pending", as if they had
//! never run: `plan`, `status` and `report` show them as **stale**, naming
//! the version that finished them, and the old folder is left untouched.
//!
//! A finished folder supersedes a run when it was written by another trainer
//! version, for the same data (dataset fingerprint and starting weights), and
//! every field its `spec.json` records has the run's value. Fields an older
//! trainer did not have are absent from its `spec.json`; they were at the
//! behaviour that trainer had, which the version number already says is not
//! this one's. The comparison is on the JSON the two versions wrote, so a
//! `spec.json` that no longer deserializes into today's types is still read.
//!
//! The same holds for a run of a training command (`worker:`) whose code
//! was edited since it finished: the edit gave it a new key, and the plan
//! shows it stale, naming the files that changed.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::code_fingerprint::{CodeFile, describe_change};
use crate::hash::{KeyInput, TRAINER_VERSION};
use crate::store::{COMPLETE_FILE, SPEC_FILE};

/// A finished run of another trainer version.
#[derive(Debug, Clone)]
struct Finished {
    trainer_version: String,
    key: String,
    /// `spec.json`'s `input`, without `trainer_version`.
    input: Value,
}

/// The finished runs of other trainer versions in one results folder, and
/// those a training command finished with other code.
#[derive(Debug, Default)]
pub struct SupersededRuns {
    finished: Vec<Finished>,
    /// Finished runs of a `worker:` command, by this trainer version.
    with_code: Vec<Finished>,
}

impl SupersededRuns {
    /// Reads every finished run folder under `results` whose `spec.json`
    /// names another trainer version. Unreadable folders are skipped: this
    /// only ever adds an explanation to a run that is not done anyway.
    pub fn scan(results: &Path) -> SupersededRuns {
        let Ok(entries) = fs::read_dir(results) else {
            return SupersededRuns::default();
        };
        let (finished, with_code): (Vec<Finished>, Vec<Finished>) = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|dir| dir.join(COMPLETE_FILE).is_file())
            .filter_map(|dir| {
                let spec: Value =
                    serde_json::from_slice(&fs::read(dir.join(SPEC_FILE)).ok()?).ok()?;
                let mut input = spec.get("input")?.clone();
                let version = input.as_object_mut()?.remove("trainer_version")?;
                let trainer_version = version.as_str()?.to_string();
                let key = spec.get("key")?.as_str()?.to_string();
                let keep = trainer_version != TRAINER_VERSION || input.get("code").is_some();
                keep.then_some(Finished {
                    trainer_version,
                    key,
                    input,
                })
            })
            .partition(|f| f.trainer_version != TRAINER_VERSION);
        SupersededRuns {
            finished,
            with_code,
        }
    }

    /// Why a run of a `worker:` command is stale, if the same run was
    /// finished with other code: "code changed since it finished (a1b2…):
    /// train.py edited".
    fn code_changed(&self, now: &Value) -> Option<String> {
        let code_now: Vec<CodeFile> = serde_json::from_value(now.get("code")?.clone()).ok()?;
        let mut rest = now.clone();
        rest.as_object_mut()?.remove("code");
        self.with_code.iter().find_map(|f| {
            let mut old = f.input.clone();
            let code_old: Vec<CodeFile> =
                serde_json::from_value(old.as_object_mut()?.remove("code")?).ok()?;
            (old == rest && code_old != code_now).then(|| {
                format!(
                    "code changed since it finished ({}): {}",
                    &f.key[..f.key.len().min(12)],
                    describe_change(&code_old, &code_now)
                )
            })
        })
    }

    /// Why the run with these inputs is stale, if a finished run of another
    /// trainer version stands for it: "finished by trainer version 3 (a1b2…);
    /// this is version 4".
    pub fn reason(&self, input: &KeyInput) -> Option<String> {
        if self.finished.is_empty() && self.with_code.is_empty() {
            return None;
        }
        let mut now = serde_json::to_value(input).ok()?;
        now.as_object_mut()?.remove("trainer_version");
        if let Some(why) = self.code_changed(&now) {
            return Some(why);
        }
        let found = self
            .finished
            .iter()
            .find(|f| recorded_fields_agree(&f.input, &now))?;
        Some(format!(
            "finished by trainer version {} ({}); this is version {TRAINER_VERSION}",
            found.trainer_version,
            &found.key[..found.key.len().min(12)],
        ))
    }
}

/// Whether every field `old` records has the same value in `now` (objects
/// compared field by field, recursively; anything else compared whole).
fn recorded_fields_agree(old: &Value, now: &Value) -> bool {
    match (old, now) {
        (Value::Object(old), Value::Object(now)) => old.iter().all(|(name, value)| {
            now.get(name)
                .is_some_and(|v| recorded_fields_agree(value, v))
        }),
        _ => old == now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_an_older_trainer_did_not_record_do_not_matter() {
        let old = json!({"run": {"lr": 0.001, "train": {"epochs": 3}}});
        let now = json!({"run": {"lr": 0.001, "train": {"epochs": 3, "init": "torch"}}});
        assert!(recorded_fields_agree(&old, &now));
        let other_lr = json!({"run": {"lr": 0.01, "train": {"epochs": 3, "init": "torch"}}});
        assert!(!recorded_fields_agree(&old, &other_lr));
        let dropped = json!({"run": {"train": {"epochs": 3}}});
        assert!(
            !recorded_fields_agree(&old, &dropped),
            "a field the new run lacks differs"
        );
    }

    #[test]
    fn a_missing_or_empty_results_folder_supersedes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(
            SupersededRuns::scan(&tmp.path().join("absent"))
                .finished
                .is_empty()
        );
        assert!(SupersededRuns::scan(tmp.path()).finished.is_empty());
    }
}
