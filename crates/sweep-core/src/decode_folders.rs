//! Before any worker starts, decode each image-folder dataset that pending
//! runs need, once, into the results folder's dataset cache, and point those
//! runs at the decoded file. Workers then only load bytes, several runs of
//! a sweep never decode the same folder at the same time, and a folder with
//! corrupt images fails its runs up front with every bad path named.
//!
//! This is a step between [`plan`](crate::plan::plan) and scheduling; what it
//! does is told through [`DecodeNotice`]s, which the command prints.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sweep_data::catalog::Source;
use sweep_data::image_folder::{ImageFolderDef, decoded_file_name, ensure_decoded};

use crate::plan::{Plan, PlanStatus};
use crate::store::{RunStatus, Store};

/// Folder of decoded image-folder datasets inside the results folder.
pub const DECODED_DIR: &str = ".datasets";

/// What the decode step is doing, for the command to show.
#[derive(Debug)]
pub enum DecodeNotice<'a> {
    /// A folder is being decoded for the first time.
    Decoding {
        def: &'a ImageFolderDef,
        folder: &'a Path,
    },
    /// It was decoded into `file` in `took`.
    Decoded {
        def: &'a ImageFolderDef,
        file: &'a Path,
        took: Duration,
    },
}

/// Decodes what pending runs need (all runs with `force`). A folder that
/// cannot be decoded turns its runs into "no data" runs with the reason.
pub fn decode_pending(
    plan: &mut Plan,
    store: &Store,
    force: bool,
    notify: &mut dyn FnMut(DecodeNotice),
) {
    let cache_dir = store.root().join(DECODED_DIR);
    // By folder and cache file name (which holds the fingerprint and the
    // decode settings): one decode per distinct result.
    let mut decoded: HashMap<(PathBuf, String), Result<PathBuf, String>> = HashMap::new();
    for run in &mut plan.runs {
        let (Some(def), Some(input), Some(folder)) =
            (&run.spec.image_folder, &run.input, &run.data_file)
        else {
            continue;
        };
        if run.spec.dataset_ref().source != Source::ImageFolder
            || (!force && run.status == PlanStatus::Store(RunStatus::Done))
        {
            continue;
        }
        let print = &input.dataset_fingerprint;
        let name = decoded_file_name(print, def);
        let result = decoded
            .entry((folder.clone(), name.clone()))
            .or_insert_with(|| decode(folder, def, print, &cache_dir, &name, notify))
            .clone();
        match result {
            Ok(file) => run.data_file = Some(file),
            Err(why) => {
                run.status = PlanStatus::MissingData(why);
                run.input = None;
                run.key = None;
            }
        }
    }
}

fn decode(
    folder: &Path,
    def: &ImageFolderDef,
    print: &str,
    cache_dir: &Path,
    name: &str,
    notify: &mut dyn FnMut(DecodeNotice),
) -> Result<PathBuf, String> {
    let fresh = !cache_dir.join(name).is_file();
    let started = Instant::now();
    if fresh {
        notify(DecodeNotice::Decoding { def, folder });
    }
    let result = ensure_decoded(folder, def, print, cache_dir);
    if fresh && let Ok(file) = &result {
        notify(DecodeNotice::Decoded {
            def,
            file,
            took: started.elapsed(),
        });
    }
    result
}
