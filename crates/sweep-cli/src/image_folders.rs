//! Before any worker starts, decode each image-folder dataset that pending
//! runs need, once, into the results folder's dataset cache, and point those
//! runs at the decoded file. Workers then only load bytes, several runs of
//! a sweep never decode the same folder at the same time, and a folder with
//! corrupt images fails its runs up front with every bad path named.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use sweep_core::plan::{Plan, PlanStatus};
use sweep_core::store::{RunStatus, Store};
use sweep_data::catalog::Source;
use sweep_data::image_folder::{decoded_file_name, ensure_decoded};

/// Folder of decoded image-folder datasets inside the results folder.
pub const DECODED_DIR: &str = ".datasets";

/// Decodes what pending runs need (all runs with `force`). A folder that
/// cannot be decoded turns its runs into "no data" runs with the reason.
pub fn decode_pending(plan: &mut Plan, store: &Store, force: bool, quiet: bool) {
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
            .or_insert_with(|| decode(folder, def, print, &cache_dir, &name, quiet))
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
    def: &sweep_data::image_folder::ImageFolderDef,
    print: &str,
    cache_dir: &Path,
    name: &str,
    quiet: bool,
) -> Result<PathBuf, String> {
    let fresh = !cache_dir.join(name).is_file();
    let started = Instant::now();
    if fresh && !quiet {
        eprintln!(
            "{}: decoding the images in {} to {} px, {} channel{} (once; later runs reuse it)",
            def.name,
            folder.display(),
            def.size,
            def.channels,
            if def.channels == 1 { "" } else { "s" }
        );
    }
    let result = ensure_decoded(folder, def, print, cache_dir);
    if fresh
        && !quiet
        && let Ok(path) = &result
    {
        eprintln!(
            "{}: decoded in {:.1} s into {}",
            def.name,
            started.elapsed().as_secs_f64(),
            path.display()
        );
    }
    result
}
