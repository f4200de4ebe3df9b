//! Per-epoch training state, so a run killed mid-way continues from its last
//! completed epoch instead of starting over.
//!
//! After each epoch the worker writes `resume-<epoch>.safetensors` (model
//! variables as `model.<name>`, optimiser state as `opt.…`) and then
//! `resume.json` (epoch, history, callback states) naming that file; each is
//! written through [`sweep_data::atomic`] (temporary file, fsync, rename,
//! fsync of the folder), and the JSON goes last, so the pair on disk always
//! belongs together, even after a power loss. Because every epoch reseeds the RNG
//! from (run seed, epoch), the continued run computes exactly what an
//! uninterrupted run would. The files are removed when the run completes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sweep_data::atomic::{write_atomic, write_atomic_via_path};
use tch::{Tensor, nn};

use crate::fit::TrainState;
use crate::memory_format::contiguous_copies;
use crate::optim::Optimizer;

const STATE_FILE: &str = "resume.json";

#[derive(Serialize, Deserialize)]
struct Saved {
    tensors: String,
    state: TrainState,
}

fn tensors_name(epoch: u32) -> String {
    format!("resume-{epoch}.safetensors")
}

/// Saves the state after an epoch and removes the previous epoch's tensors.
pub fn save(
    dir: &Path,
    vs: &nn::VarStore,
    optimizer: &Optimizer,
    state: &TrainState,
) -> Result<(), String> {
    let name = tensors_name(state.epoch);
    let mut named: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .map(|(n, t)| (format!("model.{n}"), t))
        .collect();
    named.extend(optimizer.state());
    let named = contiguous_copies(named);
    let refs: Vec<(&str, &Tensor)> = named.iter().map(|(n, t)| (n.as_str(), t)).collect();
    write_atomic_via_path(&dir.join(&name), |temp| {
        Tensor::write_safetensors(&refs, temp)
    })
    .map_err(|e| format!("saving resume state: {e}"))?;
    let json = serde_json::to_vec(&Saved {
        tensors: name.clone(),
        state: state.clone(),
    })
    .map_err(|e| e.to_string())?;
    write_atomic(&dir.join(STATE_FILE), &json).map_err(|e| format!("saving resume state: {e}"))?;
    if state.epoch > 1 {
        let _ = std::fs::remove_file(dir.join(tensors_name(state.epoch - 1)));
    }
    Ok(())
}

/// Loads a saved state into `vs` and `optimizer`, if one exists.
pub fn load(
    dir: &Path,
    vs: &mut nn::VarStore,
    optimizer: &mut Optimizer,
) -> Result<Option<TrainState>, String> {
    let Ok(bytes) = std::fs::read(dir.join(STATE_FILE)) else {
        return Ok(None);
    };
    let Ok(saved) = serde_json::from_slice::<Saved>(&bytes) else {
        return Ok(None); // unreadable: start over rather than guess
    };
    let path: PathBuf = dir.join(&saved.tensors);
    let Ok(list) = Tensor::read_safetensors(&path) else {
        return Ok(None);
    };
    let named: HashMap<String, Tensor> = list.into_iter().collect();
    let _guard = tch::no_grad_guard();
    for (name, mut var) in vs.variables() {
        let saved_var = named
            .get(&format!("model.{name}"))
            .ok_or_else(|| format!("resume state lacks variable {name}"))?;
        var.copy_(&saved_var.to_device(var.device()));
    }
    optimizer.load_state(&named, saved.state.step);
    Ok(Some(saved.state))
}

/// Removes the resume files once the run is complete.
pub fn clear(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name == STATE_FILE || (name.starts_with("resume-") && name.ends_with(".safetensors"))
            {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}
