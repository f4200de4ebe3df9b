//! Before any worker starts, copy each TorchScript module that pending runs
//! train into the results folder, named by its sha256 (the digest in the
//! runs' keys). A worker, local or on a Slurm node, loads the module from
//! beside its run folder: it trains exactly the bytes its key names, even
//! if the user edits or moves the original file while the sweep runs, and
//! the experiment's folder need not be visible to the cluster's nodes.
//!
//! A step between [`plan`](crate::plan::plan) and scheduling, like
//! [`decode_folders`](crate::decode_folders).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::experiment::Experiment;
use crate::plan::{Plan, PlanStatus};
use crate::store::{RunStatus, Store, write_atomic};

/// Folder of staged TorchScript modules inside the results folder.
pub const MODULES_DIR: &str = ".torchscript";

/// Where the module with this sha256 is staged in the results folder `results`.
pub fn staged_module(results: &Path, sha256: &str) -> PathBuf {
    results.join(MODULES_DIR).join(format!("{sha256}.pt"))
}

/// The file a staged module was copied from (recorded beside it when it was
/// staged, for messages), or the staged file itself when unrecorded.
pub fn staged_source(staged: &Path) -> PathBuf {
    std::fs::read_to_string(staged.with_extension(SOURCE_EXTENSION))
        .ok()
        .map(|s| PathBuf::from(s.trim_end()))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| staged.to_path_buf())
}

/// Extension of the note beside a staged module that names its source.
const SOURCE_EXTENSION: &str = "source";

/// Stages the modules of pending runs (of all runs with `force`). A module
/// that cannot be staged turns its runs into "no data" runs with the reason.
pub fn stage_pending(plan: &mut Plan, exp: &Experiment, store: &Store, force: bool) {
    let mut staged: HashMap<String, Result<(), String>> = HashMap::new();
    for run in &mut plan.runs {
        let Some(sha256) = run
            .input
            .as_ref()
            .and_then(|i| i.torchscript_sha256.clone())
        else {
            continue;
        };
        if !force && run.status == PlanStatus::Store(RunStatus::Done) {
            continue;
        }
        let result = staged
            .entry(sha256.clone())
            .or_insert_with(|| match exp.torchscript_model(&run.spec.arch) {
                Some(decl) => stage(&decl.path, &sha256, store.root()),
                None => Err(format!("`{}` names no TorchScript file", run.spec.arch)),
            })
            .clone();
        if let Err(why) = result {
            run.status = PlanStatus::MissingData(why);
            run.input = None;
            run.key = None;
        }
    }
}

/// The lowercase hex sha256 of `bytes`, as file fingerprints are written.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// Copies `source` to its staged place unless it is there, checking that
/// its bytes still have the planned digest.
fn stage(source: &Path, sha256: &str, results: &Path) -> Result<(), String> {
    let dest = staged_module(results, sha256);
    // Informational: the last experiment to stage these bytes names them.
    let note = || {
        let source = source.display().to_string();
        let _ = write_atomic(&dest.with_extension(SOURCE_EXTENSION), source.as_bytes());
    };
    if dest.is_file() {
        note();
        return Ok(());
    }
    let bytes = std::fs::read(source)
        .map_err(|e| format!("TorchScript module {}: {e}", source.display()))?;
    let found = sha256_hex(&bytes);
    if found != sha256 {
        return Err(format!(
            "TorchScript module {} changed while the sweep was planned; run again",
            source.display()
        ));
    }
    let folder = results.join(MODULES_DIR);
    std::fs::create_dir_all(&folder)
        .and_then(|()| write_atomic(&dest, &bytes))
        .map(|()| note())
        .map_err(|e| {
            format!(
                "cannot stage {} in {}: {e}",
                source.display(),
                folder.display()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprints::{Fingerprint, FingerprintError, Fingerprints};
    use crate::plan::plan;
    use sweep_data::catalog::DatasetRef;

    /// Every dataset has the same made-up fingerprint.
    struct Fixed;

    impl Fingerprints for Fixed {
        fn fingerprint(
            &self,
            _dataset: &DatasetRef,
            _data_root: &Path,
        ) -> Result<Fingerprint, FingerprintError> {
            Ok(("f".repeat(64), None))
        }
    }

    fn planned(dir: &Path, results: &Store) -> (Experiment, Plan) {
        let yaml = "name: t\ngrid:\n  dataset: synthetic:breastmnist\n  \
                    arch: [chest_cnn, {torchscript: net.pt}]\n";
        let exp = crate::spec::load_str(yaml, &dir.join("exp.yaml")).unwrap();
        let p = plan(
            &exp,
            crate::expand::Variant::default(),
            dir,
            results,
            &Fixed,
        );
        (exp, p)
    }

    /// The module's content, not its path, is in the key; staging copies
    /// exactly the bytes the key names.
    #[test]
    fn the_key_follows_the_content_and_the_staged_copy_has_it() {
        let project = tempfile::tempdir().unwrap();
        let results = Store::new(project.path().join("results"));
        std::fs::write(project.path().join("net.pt"), b"first module").unwrap();
        let (exp, mut first) = planned(project.path(), &results);
        let module = &first.runs[1];
        assert_eq!(module.spec.arch, "torchscript:net");
        let sha256 = sha256_hex(b"first module");
        assert_eq!(
            module.input.as_ref().unwrap().torchscript_sha256,
            Some(sha256.clone())
        );
        assert_eq!(
            first.runs[0].input.as_ref().unwrap().torchscript_sha256,
            None
        );

        // The same file in a moved project keeps the key; other bytes change it.
        let moved = tempfile::tempdir().unwrap();
        std::fs::write(moved.path().join("net.pt"), b"first module").unwrap();
        let (_, again) = planned(moved.path(), &results);
        assert_eq!(again.runs[1].key, module.key);
        std::fs::write(moved.path().join("net.pt"), b"edited module").unwrap();
        let (_, edited) = planned(moved.path(), &results);
        assert_ne!(edited.runs[1].key, module.key);

        stage_pending(&mut first, &exp, &results, false);
        let staged = staged_module(results.root(), &sha256);
        assert_eq!(std::fs::read(&staged).unwrap(), b"first module");
        assert_eq!(
            staged_source(&staged),
            std::fs::canonicalize(project.path().join("net.pt")).unwrap()
        );
        assert!(first.runs.iter().all(|r| r.key.is_some()));

        // Edited after planning: refused, rather than training other bytes.
        std::fs::remove_file(&staged).unwrap();
        std::fs::write(project.path().join("net.pt"), b"edited later").unwrap();
        stage_pending(&mut first, &exp, &results, false);
        assert!(
            matches!(&first.runs[1].status, PlanStatus::MissingData(why) if why.contains("changed while the sweep was planned")),
            "{:?}",
            first.runs[1].status
        );
        assert!(first.runs[0].key.is_some());

        // Not saved yet: its runs have no key, and say what to do.
        std::fs::remove_file(project.path().join("net.pt")).unwrap();
        let (_, unsaved) = planned(project.path(), &results);
        assert_eq!(
            unsaved.runs[1].status,
            PlanStatus::MissingData(format!(
                "TorchScript module {} not found; save it from PyTorch first \
                 (torch.jit.save(torch.jit.script(model), PATH))",
                std::fs::canonicalize(project.path())
                    .unwrap()
                    .join("net.pt")
                    .display()
            ))
        );
        assert!(unsaved.runs[0].key.is_some());
    }
}
