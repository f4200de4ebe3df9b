//! Run keys: the content address of a run in the results store.
//!
//! A key is sha256 over a canonical JSON document holding everything that can
//! change a run's numbers: the resolved [`RunSpec`], the fingerprint of the
//! dataset file's bytes, that of the pretrained weights file (when the run
//! starts from cached weights), that of the saved TorchScript module a run
//! trains (`arch: {torchscript: PATH}`), the content of a training command's
//! code (when a `worker:` command trains it), the trainer's version and the
//! cache version. What
//! only decides *where or how fast* a run executes (devices, thread counts,
//! results folder, verbosity) is deliberately absent, so moving a sweep to
//! another machine reuses its cache.
//!
//! The JSON is canonical because it is produced from typed structs: field
//! order is the declaration order, numbers are printed in shortest
//! round-trip form (`1e-3` and `0.001` are the same f64 and print the same),
//! and comments or key order in the YAML never reach it.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::fingerprints::CodeFile;
use crate::run_spec::RunSpec;

/// Bump to invalidate every cached result on purpose (the pinned keys in the
/// snapshot test change with it; update them in the same commit).
pub const CACHE_VERSION: u32 = 1;

/// Version of the training semantics. Bump when the trainer changes results
/// for the same spec (a metric definition, an initialisation, the data path).
/// History: 2 lays images, activations and conv weights out channels-last
/// (same maths, another summation order, so not the same bits as 1);
/// 3 updates Adam/AdamW with libtorch's fused kernel (same rule, rounded
/// differently from the tensor-by-tensor form); 4 starts weights from
/// PyTorch's default initialisation unless `train.init` says otherwise
/// (3 always used tch's, now `init: tch`), and `vanilla_cnn` became the
/// architecture study's 51M-parameter network.
pub const TRAINER_VERSION: &str = "4";

/// Everything hashed into a key; also stored as `spec.json` beside the
/// results so "why is this stale?" is answered by diffing two files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyInput {
    pub cache_version: u32,
    pub trainer_version: String,
    /// sha256 of the dataset file (or of the synthetic generator's description).
    pub dataset_fingerprint: String,
    /// sha256 of the converted weights file a run starts from when
    /// `train.pretrained` names cached weights; absent otherwise, which keeps
    /// every other key unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_sha256: Option<String>,
    /// sha256 of the saved TorchScript module a run trains
    /// (`arch: {torchscript: PATH}`); absent for the zoo's architectures.
    /// The content, not the path, so a moved project keeps its results and
    /// an edited module makes its runs new ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torchscript_sha256: Option<String>,
    /// Every file of the `code` of a run's `worker` command, by relative
    /// path with its sha256, sorted by path; absent for runs sweep's
    /// trainer trains, which keeps their keys unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Vec<CodeFile>>,
    pub run: RunSpec,
}

impl KeyInput {
    pub fn new(run: RunSpec, dataset_fingerprint: String) -> Self {
        KeyInput {
            cache_version: CACHE_VERSION,
            trainer_version: TRAINER_VERSION.to_string(),
            dataset_fingerprint,
            weights_sha256: None,
            torchscript_sha256: None,
            code: None,
            run,
        }
    }

    /// The same inputs with the starting weights' sha256.
    pub fn with_weights(mut self, weights_sha256: Option<String>) -> Self {
        self.weights_sha256 = weights_sha256;
        self
    }

    /// The same inputs with the trained TorchScript module's sha256.
    pub fn with_torchscript(mut self, torchscript_sha256: Option<String>) -> Self {
        self.torchscript_sha256 = torchscript_sha256;
        self
    }

    /// The same inputs with the content of a `worker` command's code.
    pub fn with_code(mut self, code: Option<Vec<CodeFile>>) -> Self {
        self.code = code;
        self
    }

    /// The canonical serialisation that is hashed.
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).expect("run specs always serialise")
    }

    pub fn key(&self) -> RunKey {
        let digest = Sha256::digest(self.canonical_json().as_bytes());
        RunKey(hex::encode(digest))
    }
}

/// A run's key: 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunKey(String);

impl RunKey {
    /// Parses a full key (as found in folder names); `None` if malformed.
    pub fn parse(text: &str) -> Option<RunKey> {
        (text.len() == 64
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| RunKey(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 digits, as shown in tables.
    pub fn short(&self) -> &str {
        &self.0[..12]
    }
}

impl fmt::Display for RunKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
