//! Checks of training options that only make sense once a run is resolved:
//! a multi-step milestone against the run's `epochs`, a `stem` against the
//! architecture and image size, per-channel `normalize` values against the
//! channels the model will see, and the options that a saved TorchScript
//! module ignores (`pretrained`, `init`, `batch_norm`).
//!
//! Each of these fields may be written in `train:`, on a grid axis or in an
//! `include` entry, so every resolved run is checked and a problem is
//! reported where the field is written (the first place found), once per
//! distinct message.

use std::collections::BTreeSet;

use super::diagnostic::Sink;
use super::node::{Node, Pos, Value};
use crate::expand::expand;
use crate::experiment::Experiment;
use crate::run_spec::RunSpec;
use crate::train_options::{BatchNormParams, Init, Schedule, Stem};

/// Smallest side a DenseNet accepts behind torchvision's stem: the stem
/// quarters the image (7x7/2 convolution, 3x3/2 max pool, both padded) and
/// the three transitions halve it again, flooring; 28 px leaves 7, then 3,
/// 1 and nothing.
pub const DENSENET_STANDARD_STEM_MIN_SIZE: u32 = 29;

/// Checks every resolved run of `exp`; `root` is the document, for positions.
pub fn check(exp: &Experiment, root: &Node, sink: &mut Sink) {
    let mut reported = BTreeSet::new();
    for run in expand(exp, false) {
        for (field, message) in problems(&run) {
            if reported.insert((field, message.clone())) {
                let (pos, path) = written_at(root, field);
                sink.error(pos, path, message);
            }
        }
    }
}

/// `(field, message)` for every problem of one run.
fn problems(run: &RunSpec) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let train = &run.train;
    if let Schedule::Multistep { milestones, .. } = &train.schedule
        && let Some(&last) = milestones.last()
        && last >= train.epochs
    {
        out.push((
            "schedule",
            format!(
                "milestone {last} is not before the last epoch (epochs: {}): the learning rate \
                 changes after epoch {last}, so it would never take effect",
                train.epochs
            ),
        ));
    }
    let dataset = run.dataset_ref();
    if train.stem != Stem::Auto && !Stem::ARCHS.contains(&run.arch.as_str()) {
        out.push((
            "stem",
            format!(
                "`{}` has no stem choice; `stem` applies to {} (leave it `auto`)",
                run.arch,
                Stem::ARCHS.join(", ")
            ),
        ));
    }
    out.extend(torchscript_problems(run));
    let size = train.input_size.unwrap_or(dataset.size);
    if train.stem == Stem::Standard
        && run.arch.starts_with("densenet")
        && size < DENSENET_STANDARD_STEM_MIN_SIZE
    {
        out.push((
            "stem",
            format!(
                "`{}` with the standard stem needs images of at least \
                 {DENSENET_STANDARD_STEM_MIN_SIZE} px (the stem quarters {size} px and its three \
                 transitions halve what is left to nothing); use `input_size` or the small stem",
                run.arch
            ),
        ));
    }
    if let Some(wanted) = train.normalize.channels() {
        let channels = train.input_channels.unwrap_or(dataset.info.channels);
        if wanted != usize::from(channels) {
            out.push((
                "normalize",
                format!(
                    "{wanted} mean/std values but `{}` feeds the model {channels} channel(s){}",
                    run.dataset,
                    if channels == 1 {
                        " (set `input_channels: 3` to replicate grey to RGB)"
                    } else {
                        ""
                    }
                ),
            ));
        }
    }
    out
}

/// A TorchScript module starts from the weights saved in its file: sweep
/// neither loads other weights into it nor re-initialises it.
fn torchscript_problems(run: &RunSpec) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if !super::torchscript::is_torchscript(&run.arch) {
        return out;
    }
    if let Some(pretrained) = &run.train.pretrained {
        out.push((
            "pretrained",
            format!(
                "`{}` starts from the weights saved in its file; `pretrained: {pretrained}` \
                 applies to the zoo's architectures (save the module with the weights you want)",
                run.arch
            ),
        ));
    }
    if run.train.init != Init::Torch {
        out.push((
            "init",
            format!(
                "`{}` starts from the weights saved in its file, so `init: {}` would not \
                 change it; initialise the module in PyTorch before saving it",
                run.arch,
                run.train.init.as_str()
            ),
        ));
    }
    if run.train.batch_norm != BatchNormParams::default() {
        out.push((
            "batch_norm",
            format!(
                "`{}` keeps the batch-norm settings saved in its file; set momentum and eps \
                 on its layers in PyTorch before saving it",
                run.arch
            ),
        ));
    }
    out
}

/// Where `field` is written: in `train:`, as a grid axis (plain or with
/// `train.`), or in an `include` entry; the document start otherwise.
fn written_at(root: &Node, field: &str) -> (Pos, String) {
    let dotted = format!("train.{field}");
    if let Some(node) = root.get("train").and_then(|t| t.get(field)) {
        // `{multistep: {milestones: [..]}}` points at the milestones, the
        // value a reader has to change.
        if let Some(m) = node.get("multistep").and_then(|m| m.get("milestones")) {
            return (m.pos, format!("train.{field}.multistep.milestones"));
        }
        return (node.pos, format!("train.{field}"));
    }
    if let Some(grid) = root.get("grid") {
        for name in [field, dotted.as_str()] {
            if let Some(node) = grid.get(name) {
                return (node.pos, format!("grid.{name}"));
            }
        }
    }
    if let Some(Value::Seq(entries)) = root.get("include").map(|n| &n.value) {
        for (i, entry) in entries.iter().enumerate() {
            for name in [field, dotted.as_str()] {
                if let Some(node) = entry.get(name) {
                    return (node.pos, format!("include[{i}].{name}"));
                }
            }
        }
    }
    (root.pos, dotted)
}
