//! Grid expansion: an [`Experiment`] becomes a list of fully resolved [`RunSpec`]s.
//!
//! # Order
//! The order is part of the contract (it is the order of `sweep plan` and the
//! order runs are started in), so it is fixed and documented:
//!
//! 1. Axes are ordered `dataset`, `arch`, `lr`, `class_weighting`,
//!    `pos_weight`, then every other axis in the order written, then `seed`,
//!    then `folds`. Axes joined by `zip:` move together, at the position of
//!    their first member. A sampled axis (`crate::spec::sampled`) is a list
//!    of values by now, in draw order.
//! 2. The Cartesian product is walked like nested loops: the last axis varies
//!    fastest.
//! 3. Points matching an `exclude:` entry are dropped; `include:` entries are
//!    appended after the grid, in the order written.
//! 4. A k-fold configuration becomes k runs (fold 1..k), innermost.
//! 5. With `--smoke`, the smoke block is applied to each point before folds
//!    are expanded.
//!
//! Duplicate points (an include that repeats a grid point) are kept here;
//! the plan drops them by key.

use serde_json::Value as Json;

use crate::experiment::{Assignment, Axis, Experiment, Smoke};
use crate::run_spec::RunSpec;
use crate::spec::diagnostic::Sink;
use crate::spec::node::Pos;
use crate::spec::validate::set_path;
use crate::train_options::Folds;

/// Fixed rank of the well-known axes; others keep their written order between.
fn rank(run_path: &str) -> u8 {
    match run_path {
        "dataset" => 0,
        "arch" => 1,
        "lr" => 2,
        "class_weighting" => 3,
        "pos_weight" => 4,
        "seed" => 6,
        "folds" => 7,
        _ => 5,
    }
}

/// Sorts axes into expansion order (stable, so other axes keep file order).
pub fn order_axes(axes: &mut [Axis]) {
    axes.sort_by_key(|a| rank(a.values.first().map_or("", |v| v.run_path)));
}

/// One grid point before folds: the assignments that made it.
#[derive(Debug, Clone)]
pub struct Point<'a> {
    pub assignments: Vec<&'a Assignment>,
}

/// The loops of the product: each group is one axis or a zip group.
fn groups(exp: &Experiment) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    for i in 0..exp.axes.len() {
        match exp.zip.iter().find(|g| g.contains(&i)) {
            Some(g) if g[0] == i => out.push(g.clone()),
            Some(_) => {}
            None => out.push(vec![i]),
        }
    }
    out
}

/// Number of grid points before exclusion and folds (saturating).
pub fn grid_size(exp: &Experiment) -> usize {
    groups(exp)
        .iter()
        .map(|g| exp.axes[g[0]].values.len())
        .fold(1usize, |acc, n| acc.saturating_mul(n))
}

fn matches(point: &[&Assignment], entry: &[Assignment]) -> bool {
    entry.iter().all(|want| {
        point
            .iter()
            .any(|have| have.run_path == want.run_path && have.value == want.value)
    })
}

/// Grid points (after exclude, with includes appended).
pub fn points(exp: &Experiment) -> Vec<Point<'_>> {
    let groups = groups(exp);
    let lens: Vec<usize> = groups.iter().map(|g| exp.axes[g[0]].values.len()).collect();
    let total = grid_size(exp);
    let mut out = Vec::with_capacity(total.min(exp.max_runs.saturating_add(1)));
    if lens.iter().all(|&n| n > 0) {
        let mut index = vec![0usize; groups.len()];
        'product: loop {
            let mut assignments = Vec::with_capacity(exp.axes.len());
            for (g, members) in groups.iter().enumerate() {
                for &axis in members {
                    assignments.push(&exp.axes[axis].values[index[g]]);
                }
            }
            if !exp.exclude.iter().any(|e| matches(&assignments, e)) {
                out.push(Point { assignments });
            }
            // Odometer increment, last group fastest.
            let mut g = groups.len();
            loop {
                if g == 0 {
                    break 'product;
                }
                g -= 1;
                index[g] += 1;
                if index[g] < lens[g] {
                    break;
                }
                index[g] = 0;
            }
        }
    }
    for entry in &exp.include {
        // Axes with a single value apply to includes too; the entry wins.
        let mut assignments: Vec<&Assignment> = exp
            .axes
            .iter()
            .filter(|a| a.values.len() == 1)
            .map(|a| &a.values[0])
            .filter(|a| !entry.iter().any(|e| e.run_path == a.run_path))
            .collect();
        assignments.extend(entry.iter());
        out.push(Point { assignments });
    }
    out
}

fn apply_smoke(run: &mut Json, smoke: &Smoke) {
    run["train"]["epochs"] = Json::from(smoke.epochs);
    let subset = match run["train"]["subset"].as_u64() {
        Some(s) => s.min(u64::from(smoke.subset)),
        None => u64::from(smoke.subset),
    };
    run["train"]["subset"] = Json::from(subset);
    if let Some(bs) = smoke.batch_size {
        run["train"]["batch_size"] = Json::from(bs);
    }
    if let Some(size) = smoke.input_size {
        run["train"]["input_size"] = Json::from(size);
    }
    if let Some(k) = run["folds"]["kfold"]["k"].as_u64()
        && k > u64::from(smoke.folds)
    {
        run["folds"]["kfold"]["k"] = Json::from(smoke.folds);
    }
}

/// The resolved JSON of one point (before folds).
fn resolve(exp: &Experiment, point: &Point<'_>, smoke: Option<&Smoke>) -> Json {
    let mut run = exp.base.clone();
    for a in &point.assignments {
        set_path(&mut run, a.run_path, a.value.clone());
    }
    if let Some(s) = smoke {
        apply_smoke(&mut run, s);
    }
    if let Some(decl) = run["dataset"].as_str().and_then(|d| exp.image_folder(d)) {
        run["image_folder"] = serde_json::to_value(&decl.def).expect("definitions serialise");
    }
    run
}

/// Variations of an experiment chosen on the command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Variant {
    /// Apply the `smoke:` block (tiny runs).
    pub smoke: bool,
    /// Replace every file dataset by its `synthetic:` look-alike, so a sweep
    /// can be tried end to end before any data is downloaded.
    pub synthetic: bool,
}

/// Expands into runs. Call on a validated experiment (see [`check`]).
pub fn expand(exp: &Experiment, smoke: bool) -> Vec<RunSpec> {
    expand_variant(
        exp,
        Variant {
            smoke,
            synthetic: false,
        },
    )
}

/// [`expand`] with every command-line variation.
pub fn expand_variant(exp: &Experiment, variant: Variant) -> Vec<RunSpec> {
    let smoke = variant.smoke.then_some(&exp.smoke);
    let mut runs = Vec::new();
    for point in points(exp) {
        let mut json = resolve(exp, &point, smoke);
        if variant.synthetic
            && let Some(name) = json["dataset"].as_str()
            && !name.starts_with("synthetic:")
        {
            json["dataset"] = Json::String(format!("synthetic:{name}"));
        }
        let Ok(spec) = serde_json::from_value::<RunSpec>(json) else {
            continue; // check() reports these; a validated experiment has none.
        };
        push_folds(spec, &mut runs);
    }
    runs
}

fn push_folds(spec: RunSpec, runs: &mut Vec<RunSpec>) {
    match spec.folds {
        Folds::None => runs.push(spec),
        Folds::Kfold { k, .. } => {
            for fold in 0..k {
                let mut run = spec.clone();
                run.fold = Some(fold);
                runs.push(run);
            }
        }
    }
}

/// Cross-field checks that need a resolved point, reported at the place the
/// conflicting value was written; also enforces the run-count ceiling.
pub fn check(exp: &Experiment, sink: &mut Sink) {
    let size = grid_size(exp);
    if size > exp.max_runs {
        let pos = exp
            .axes
            .first()
            .and_then(|a| a.values.first())
            .map_or(Pos::default(), |v| v.pos);
        sink.error(
            pos,
            "grid",
            format!(
                "the grid has {size} points, over the limit of {}; raise it with `max_runs:` if you mean it",
                exp.max_runs
            ),
        );
        return;
    }
    let mut count = 0usize;
    for point in points(exp) {
        let json = resolve(exp, &point, None);
        let pos_of = |path: &str| {
            point
                .assignments
                .iter()
                .rev()
                .find(|a| a.run_path == path)
                .map(|a| a.pos)
        };
        let anchor = pos_of("dataset").unwrap_or_default();
        let spec = match serde_json::from_value::<RunSpec>(json) {
            Ok(spec) => spec,
            Err(e) => {
                sink.error(
                    anchor,
                    "",
                    format!("internal: resolved run does not deserialize: {e}"),
                );
                continue;
            }
        };
        count += spec.folds.count() as usize;
        check_run(&spec, &pos_of, anchor, sink);
    }
    if count > exp.max_runs {
        sink.error(
            Pos::default(),
            "grid",
            format!("the experiment expands to {count} runs, over the limit of {}; raise it with `max_runs:`", exp.max_runs),
        );
    }
}

/// Flattened metrics (`val_flat_*`) read the labels as one binary vector,
/// which a multi-class task's softmax outputs do not define: monitoring one
/// there is an error at the dataset that makes the run multi-class.
fn check_flattened_monitors(spec: &RunSpec, anchor: Pos, sink: &mut Sink) {
    let info = spec.dataset_ref().info;
    if info.task.uses_sigmoid() {
        return;
    }
    let train = &spec.train;
    let monitors = [
        (
            "train.checkpoint",
            train.checkpoint.monitor().map(|m| m.metric),
        ),
        (
            "train.early_stopping.monitor",
            train.early_stopping.as_ref().map(|e| e.monitor.metric),
        ),
        (
            "train.reduce_lr_on_plateau.monitor",
            train
                .reduce_lr_on_plateau
                .as_ref()
                .map(|p| p.monitor.metric),
        ),
    ];
    for (path, metric) in monitors {
        if let Some(m) = metric.filter(|m| m.is_flattened()) {
            sink.error(
                anchor,
                path,
                format!(
                    "`{m}` flattens binary or multi-label outputs; `{}` is {} (monitor `val_auc` or `val_accuracy`)",
                    spec.dataset, info.task
                ),
            );
        }
    }
}

fn check_run(spec: &RunSpec, pos_of: &dyn Fn(&str) -> Option<Pos>, anchor: Pos, sink: &mut Sink) {
    use crate::train_options::{ClassWeighting, PosWeight};
    let dataset = spec.dataset_ref();
    let info = dataset.info;
    let at = |path: &str| pos_of(path).unwrap_or(anchor);
    if !info.task.uses_sigmoid() && spec.pos_weight != PosWeight::None {
        sink.error(
            at("pos_weight"),
            "grid.pos_weight",
            format!(
                "pos_weight applies to binary and multi-label datasets; `{}` is {} (use class_weighting)",
                spec.dataset, info.task
            ),
        );
    }
    check_flattened_monitors(spec, anchor, sink);
    // A model name that is neither built in nor a saved TorchScript module
    // needs a command that trains it.
    if spec.worker.is_none()
        && !crate::spec::schema::KNOWN_ARCHS.contains(&spec.arch.as_str())
        && !crate::spec::torchscript::is_torchscript(&spec.arch)
    {
        sink.error(
            at("arch"),
            "grid.arch",
            crate::spec::schema::unknown_arch(&spec.arch),
        );
    }
    if let PosWeight::PerLabel(w) = &spec.pos_weight
        && info.task.uses_sigmoid()
        && w.len() != info.num_outputs()
    {
        sink.error(
            at("pos_weight"),
            "grid.pos_weight",
            format!(
                "`{}` has {} labels but {} weights were given",
                spec.dataset,
                info.num_outputs(),
                w.len()
            ),
        );
    }
    if let ClassWeighting::Explicit(w) = &spec.class_weighting
        && w.len() != info.num_classes()
    {
        sink.error(
            at("class_weighting"),
            "grid.class_weighting",
            format!(
                "`{}` has {} classes but {} weights were given",
                spec.dataset,
                info.num_classes(),
                w.len()
            ),
        );
    }
    if let Some(name) = spec
        .train
        .pretrained
        .as_ref()
        .and_then(|p| p.weights_name())
        // A TorchScript module's refusal says why (spec::train_semantics).
        && !crate::spec::torchscript::is_torchscript(&spec.arch)
        && let Ok(entries) = sweep_data::weights::catalog::from_env()
        && (name == sweep_data::weights::catalog::IMAGENET
            || entries.iter().any(|e| e.name == name))
        && let Err(why) = sweep_data::weights::catalog::resolve(&entries, name, &spec.arch)
    {
        // The combination is wrong: point at the arch unless the grid
        // varies the weights.
        let pos = pos_of("train.pretrained")
            .or_else(|| pos_of("arch"))
            .unwrap_or(anchor);
        sink.error(pos, "train.pretrained", why);
    }
    if spec.train.input_channels == Some(1) && info.channels == 3 {
        sink.error(
            at("train.input_channels"),
            "train.input_channels",
            format!(
                "`{}` is RGB; input_channels 1 would discard colour (use 3 or leave unset)",
                spec.dataset
            ),
        );
    }
}
