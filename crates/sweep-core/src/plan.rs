//! The plan: every run of an experiment with its key and what the store
//! already holds for it. `sweep plan` prints it; `sweep run` executes its
//! pending part.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sweep_data::catalog::Source;

use crate::expand::{Variant, expand_variant};
use crate::experiment::Experiment;
use crate::fingerprints::{
    CodeFile, Fingerprint, FingerprintError, Fingerprints, code_fingerprint,
};
use crate::hash::{KeyInput, RunKey};
use crate::run_spec::RunSpec;
use crate::store::{RunStatus, Store};
use crate::superseded::SupersededRuns;

/// Whether a planned run can be looked up in the store at all.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanStatus {
    Store(RunStatus),
    /// Its dataset file (or the pretrained weights it names) is missing, so
    /// it has no key yet.
    MissingData(String),
}

impl PlanStatus {
    pub fn label(&self) -> &'static str {
        match self {
            PlanStatus::Store(s) => s.label(),
            PlanStatus::MissingData(_) => "no-data",
        }
    }

    pub fn is_done(&self) -> bool {
        matches!(self, PlanStatus::Store(RunStatus::Done))
    }
}

#[derive(Debug, Clone)]
pub struct PlannedRun {
    pub spec: RunSpec,
    /// Key inputs, when the dataset fingerprint is known.
    pub input: Option<KeyInput>,
    pub key: Option<RunKey>,
    pub data_file: Option<PathBuf>,
    pub status: PlanStatus,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub experiment: String,
    pub data_root: PathBuf,
    pub runs: Vec<PlannedRun>,
    /// Runs dropped because an earlier one had the same key.
    pub duplicates: usize,
}

impl Plan {
    pub fn count(&self, label: &str) -> usize {
        self.runs
            .iter()
            .filter(|r| r.status.label() == label)
            .count()
    }

    /// Reads the store status of the runs with these keys again, after
    /// something other than a worker wrote to their folders (a Slurm
    /// task's failure recorded in `failure.json`).
    pub fn refresh(&mut self, store: &Store, keys: &[RunKey]) {
        for run in &mut self.runs {
            if let Some(key) = run.key.as_ref().filter(|k| keys.contains(k)) {
                run.status = PlanStatus::Store(store.status(key));
            }
        }
    }
}

/// The sha256 of the weights a run starts from (none without cached
/// weights), or why they cannot be used.
type WeightsPrint = Result<Option<String>, String>;

/// Expands, keys and looks up every run. Datasets are fingerprinted once each.
pub fn plan(
    exp: &Experiment,
    variant: Variant,
    data_root: &Path,
    store: &Store,
    fp: &dyn Fingerprints,
) -> Plan {
    let specs = expand_variant(exp, variant);
    let datasets: HashMap<&str, &RunSpec> = specs.iter().map(|s| (s.dataset.as_str(), s)).collect();
    let prints: HashMap<String, Result<Fingerprint, FingerprintError>> = datasets
        .into_par_iter()
        .map(|(name, spec)| {
            let dref = spec.dataset_ref();
            let result = match exp.image_folder(name) {
                Some(decl) if dref.source == Source::ImageFolder => {
                    fp.folder_fingerprint(&decl.def, &decl.resolve(data_root))
                }
                _ => fp.fingerprint(&dref, data_root),
            };
            (name.to_string(), result)
        })
        .collect();

    // Pretrained weights are resolved once per (pretrained, arch): the
    // first look at a converted file may hash hundreds of megabytes.
    let mut resolved: HashMap<(String, String), (RunSpec, WeightsPrint)> = HashMap::new();
    let specs: Vec<(RunSpec, WeightsPrint)> = specs
        .into_iter()
        .map(|mut spec| {
            let id = (format!("{:?}", spec.train.pretrained), spec.arch.clone());
            let (resolved_spec, weights) = resolved.entry(id).or_insert_with(|| {
                let mut probe = spec.clone();
                let weights = fp.weights(&mut probe).map_err(|e| e.to_string());
                (probe, weights)
            });
            spec.train.pretrained = resolved_spec.train.pretrained.clone();
            (spec, weights.clone())
        })
        .collect();

    let modules = torchscript_prints(exp, &specs);
    let codes = code_prints(exp, &specs);
    let mut runs: Vec<PlannedRun> = specs
        .into_par_iter()
        .map(|(mut spec, weights)| {
            let module = modules.get(&spec.arch).cloned().unwrap_or(Ok(None));
            let code = match &mut spec.worker {
                Some(worker) => {
                    worker.folder = Some(codes.folder.clone());
                    codes.prints[&worker.code].clone().map(Some)
                }
                None => Ok(None),
            };
            let why = match (&prints[&spec.dataset], weights, module, code) {
                (Ok((print, file)), Ok(weights), Ok(module), Ok(code)) => {
                    let input = KeyInput::new(spec.clone(), print.clone())
                        .with_weights(weights)
                        .with_torchscript(module)
                        .with_code(code);
                    let key = input.key();
                    let status = PlanStatus::Store(store.status(&key));
                    return PlannedRun {
                        spec,
                        input: Some(input),
                        key: Some(key),
                        data_file: file.clone(),
                        status,
                    };
                }
                (Err(why), _, _, _) => why.to_string(),
                (_, Err(why), _, _) | (_, _, Err(why), _) | (_, _, _, Err(why)) => why,
            };
            PlannedRun {
                spec,
                input: None,
                key: None,
                data_file: None,
                status: PlanStatus::MissingData(why),
            }
        })
        .collect();

    mark_superseded(&mut runs, store);

    let before = runs.len();
    let mut seen = HashSet::new();
    runs.retain(|r| match &r.key {
        Some(k) => seen.insert(k.clone()),
        None => true,
    });
    Plan {
        experiment: exp.name.clone(),
        data_root: data_root.to_path_buf(),
        duplicates: before - runs.len(),
        runs,
    }
}

/// The sha256 of each TorchScript module the runs train, by label, or why
/// its file cannot be read (its runs then have no key).
fn torchscript_prints(
    exp: &Experiment,
    specs: &[(RunSpec, WeightsPrint)],
) -> HashMap<String, WeightsPrint> {
    let mut out = HashMap::new();
    for (spec, _) in specs {
        if !crate::spec::torchscript::is_torchscript(&spec.arch) || out.contains_key(&spec.arch) {
            continue;
        }
        let print = match exp.torchscript_model(&spec.arch) {
            Some(decl) if !decl.path.is_file() => Err(format!(
                "TorchScript module {} not found; save it from PyTorch first \
                 (torch.jit.save(torch.jit.script(model), PATH))",
                decl.path.display()
            )),
            Some(decl) => sweep_data::fingerprint::file_fingerprint(&decl.path)
                .map(Some)
                .map_err(|e| format!("TorchScript module {}: {e}", decl.path.display())),
            None => Err(format!(
                "`{}` names no file in this experiment (write {{torchscript: PATH}})",
                spec.arch
            )),
        };
        out.insert(spec.arch.clone(), print);
    }
    out
}

/// The code of every training command of a plan, read once per `code` list.
struct CodePrints {
    /// The experiment file's folder, absolute.
    folder: PathBuf,
    prints: HashMap<Vec<String>, Result<Vec<CodeFile>, String>>,
}

fn code_prints(exp: &Experiment, specs: &[(RunSpec, WeightsPrint)]) -> CodePrints {
    let folder = match exp.folder() {
        f if f.as_os_str().is_empty() => Path::new("."),
        f => f,
    };
    let folder = std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf());
    let mut prints = HashMap::new();
    for worker in specs.iter().filter_map(|(s, _)| s.worker.as_ref()) {
        if !prints.contains_key(&worker.code) {
            let print = code_fingerprint(&folder, &worker.code);
            prints.insert(worker.code.clone(), print);
        }
    }
    CodePrints { folder, prints }
}

/// Runs that are not done here but were finished by another trainer version
/// are stale, naming that version (see [`crate::superseded`]). The results
/// folder is only scanned when some run is pending.
fn mark_superseded(runs: &mut [PlannedRun], store: &Store) {
    let pending = PlanStatus::Store(RunStatus::Pending);
    if !runs.iter().any(|r| r.status == pending) {
        return;
    }
    let older = SupersededRuns::scan(store.root());
    for run in runs.iter_mut().filter(|r| r.status == pending) {
        if let Some(why) = run.input.as_ref().and_then(|input| older.reason(input)) {
            run.status = PlanStatus::Store(RunStatus::Stale(why));
        }
    }
}
