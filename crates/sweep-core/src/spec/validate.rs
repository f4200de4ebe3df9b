//! Checks a whole experiment document and builds the [`Experiment`].
//!
//! Every problem is collected (unknown and misspelt keys, wrong types,
//! out-of-range values, cross-field conflicts found by a dry expansion) and
//! returned together as [`SpecErrors`]. Only a file that cannot be read as
//! YAML at all stops at its first problem.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::context::Context;
use super::diagnostic::{Diagnostic, Sink, SpecErrors, suggestion};
use super::node::{self, Node, Value};
use super::schema::{self, FieldDef};
use crate::experiment::{
    Assignment, Axis, DEFAULT_MAX_RUNS, Devices, Experiment, ImageFolderDecl, Resources,
    SlurmDefaults, Smoke,
};

pub(crate) const TOP_KEYS: &[&str] = &[
    "name",
    "description",
    "data",
    "grid",
    "train",
    "include",
    "exclude",
    "zip",
    "resources",
    "slurm",
    "smoke",
    "max_runs",
    "worker",
];

/// Largest experiment file accepted (a spec is a few KB; this only stops accidents).
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Reads and validates an experiment file.
pub fn load(path: &Path) -> Result<Experiment, SpecErrors> {
    load_str(&read_text(path)?, path)
}

/// Reads an experiment file's text: what [`load`] validates (the size and
/// UTF-8 checked, each problem reported as a [`SpecErrors`] of the file).
pub fn read_text(path: &Path) -> Result<String, SpecErrors> {
    let meta =
        std::fs::metadata(path).map_err(|e| file_error(path, format!("cannot read file: {e}")))?;
    // Checked before reading so a huge file is never loaded into memory.
    check_size(meta.len(), path)?;
    let bytes =
        std::fs::read(path).map_err(|e| file_error(path, format!("cannot read file: {e}")))?;
    text_of(bytes, path)
}

/// Validates the raw bytes of an experiment file as if read from `path`:
/// what [`load`] does once the file is read (so bytes that are not UTF-8 are
/// an error, not a panic). Lets tests and fuzzers skip the file system.
pub fn load_bytes(bytes: Vec<u8>, path: &Path) -> Result<Experiment, SpecErrors> {
    load_str(&text_of(bytes, path)?, path)
}

fn text_of(bytes: Vec<u8>, path: &Path) -> Result<String, SpecErrors> {
    check_size(bytes.len() as u64, path)?;
    String::from_utf8(bytes).map_err(|e| {
        file_error(
            path,
            format!(
                "file is not valid UTF-8 (first bad byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

fn check_size(len: u64, path: &Path) -> Result<(), SpecErrors> {
    if len > MAX_FILE_BYTES {
        return Err(file_error(
            path,
            format!("file is {len} bytes; experiment files are limited to {MAX_FILE_BYTES}"),
        ));
    }
    Ok(())
}

/// A problem with the file as a whole (no position, no source excerpt).
fn file_error(path: &Path, message: String) -> SpecErrors {
    SpecErrors {
        file: path.to_path_buf(),
        source: String::new(),
        diagnostics: vec![Diagnostic {
            pos: None,
            path: String::new(),
            message,
        }],
    }
}

/// Validates experiment text as if it had been read from `path`.
pub fn load_str(text: &str, path: &Path) -> Result<Experiment, SpecErrors> {
    let root = parse_text(text, path)?;
    check_root(&root, text, path)
}

/// Reads experiment text as YAML (the first stage of [`load_str`]).
pub(crate) fn parse_text(text: &str, path: &Path) -> Result<Node, SpecErrors> {
    node::parse(text).map_err(|e| SpecErrors {
        file: path.to_path_buf(),
        source: text.to_string(),
        diagnostics: vec![Diagnostic {
            pos: e.pos,
            path: String::new(),
            message: format!("invalid YAML: {}", e.message),
        }],
    })
}

/// Validates a parsed document (the rest of [`load_str`]); `text` is the
/// source shown beside the problems. Command-line overrides are applied
/// between the two stages (see [`super::overrides`]).
pub(crate) fn check_root(root: &Node, text: &str, path: &Path) -> Result<Experiment, SpecErrors> {
    let mut sink = Sink::default();
    let experiment = check_document(root, path, &mut sink);
    if let Some(exp) = &experiment
        && sink.is_empty()
    {
        crate::expand::check(exp, &mut sink);
        if sink.is_empty() {
            super::train_semantics::check(exp, root, &mut sink);
        }
    }
    let mut diagnostics = sink.diagnostics;
    diagnostics.sort_by_key(|d| d.pos);
    diagnostics.dedup();
    match experiment {
        Some(exp) if diagnostics.is_empty() => Ok(exp),
        _ => Err(SpecErrors {
            file: path.to_path_buf(),
            source: text.to_string(),
            diagnostics,
        }),
    }
}

fn check_document(root: &Node, path: &Path, sink: &mut Sink) -> Option<Experiment> {
    let Value::Map(entries) = &root.value else {
        sink.error(
            root.pos,
            "",
            format!(
                "an experiment file must be a mapping with `name` and `grid`, found {}",
                root.value.kind()
            ),
        );
        return None;
    };
    for (key, _) in entries {
        if !TOP_KEYS.contains(&key.name.as_str()) {
            sink.error(
                key.pos,
                &key.name,
                format!(
                    "unknown top-level key `{}`; expected one of {}{}",
                    key.name,
                    TOP_KEYS.join(", "),
                    suggestion(&key.name, TOP_KEYS.iter().copied())
                ),
            );
        }
    }
    let folder = path.parent().unwrap_or(Path::new("."));

    let name = match root.get("name") {
        Some(n) => check_name(n, sink),
        None => {
            sink.error(root.pos, "name", "missing required key `name`");
            None
        }
    };
    let description = root.get("description").and_then(|d| match d.as_str() {
        Some(s) => Some(s.to_string()),
        None => {
            sink.error(d.pos, "description", "expected a string");
            None
        }
    });
    let (data_root, image_folders) = root
        .get("data")
        .map_or((None, Vec::new()), |d| check_data(d, folder, sink));
    // The `dataset` field accepts the names this document declares.
    let cx = Context::with_image_folders(
        root.get("data")
            .and_then(|d| d.get("image_folders"))
            .map_or_else(Vec::new, super::image_folders::names),
    )
    .with_named_models(declares_worker(root))
    .in_folder(if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    });

    let mut base = serde_json::json!({
        "dataset": null,
        "arch": null,
        "lr": 0.001,
        "class_weighting": "none",
        "pos_weight": "none",
        "folds": "none",
        "fold": null,
        "seed": 0,
        "train": schema::train_defaults(),
    });
    if let Some(train) = root.get("train") {
        check_train(train, &mut base, &cx, sink);
    }
    // `worker:` at the top level: every run's command, unless a grid axis
    // or an include entry gives another.
    if let Some(node) = root.get("worker")
        && let Some(field) = schema::lookup("worker")
        && let Some(v) = field.convert(node, "worker", &cx, sink)
    {
        base["worker"] = v;
    }

    let axes = match root.get("grid") {
        Some(grid) => check_grid(grid, &cx, sink),
        None => {
            sink.error(
                root.pos,
                "grid",
                "missing required key `grid` (at least `dataset` and `arch`)",
            );
            Vec::new()
        }
    };
    let zip = root
        .get("zip")
        .map(|z| check_zip(z, &axes, sink))
        .unwrap_or_default();
    let include = root
        .get("include")
        .map(|n| check_entries(n, "include", &cx, sink))
        .unwrap_or_default();
    let exclude = root
        .get("exclude")
        .map(|n| check_entries(n, "exclude", &cx, sink))
        .unwrap_or_default();

    // dataset and arch have no default: the grid or every include entry must set them.
    for required in ["dataset", "arch"] {
        // An axis that is present but invalid was already reported.
        let in_grid = root.get("grid").and_then(|g| g.get(required)).is_some();
        if !in_grid && root.get("grid").is_some() {
            let covered = !include.is_empty()
                && include
                    .iter()
                    .all(|e| e.iter().any(|a| a.run_path == required));
            if !covered {
                let pos = root.get("grid").map(|g| g.pos).unwrap_or(root.pos);
                sink.error(
                    pos,
                    format!("grid.{required}"),
                    format!("missing required axis `{required}`"),
                );
            }
        }
    }

    let resources = root
        .get("resources")
        .map(|r| check_resources(r, sink))
        .unwrap_or_default();
    let smoke = root
        .get("smoke")
        .map(|s| check_smoke(s, sink))
        .unwrap_or_default();
    let slurm = root
        .get("slurm")
        .map(|s| check_slurm(s, sink))
        .unwrap_or_default();
    let max_runs = match root.get("max_runs") {
        Some(n) => match n.value {
            Value::Int(i) if i >= 1 => i as usize,
            _ => {
                sink.error(n.pos, "max_runs", "expected a positive integer");
                DEFAULT_MAX_RUNS
            }
        },
        None => DEFAULT_MAX_RUNS,
    };

    let mut exp = Experiment {
        name: name?,
        description,
        file: path.to_path_buf(),
        data_root,
        image_folders,
        base,
        axes,
        zip,
        include,
        exclude,
        resources,
        slurm,
        smoke,
        max_runs,
        torchscript_models: Vec::new(),
        programs: std::mem::take(&mut sink.programs),
    };
    super::torchscript::resolve(&mut exp, sink);
    Some(exp)
}

/// Whether the document gives some run a training command of its own
/// (`worker:` at the top level, as a grid axis or in an include entry).
fn declares_worker(root: &Node) -> bool {
    let in_includes = match root.get("include").map(|n| &n.value) {
        Some(Value::Seq(entries)) => entries.iter().any(|e| e.get("worker").is_some()),
        _ => false,
    };
    root.get("worker").is_some()
        || root.get("grid").and_then(|g| g.get("worker")).is_some()
        || in_includes
}

/// Experiment names become folder and file names in reports: keep them tame.
fn check_name(node: &Node, sink: &mut Sink) -> Option<String> {
    let Some(name) = node.as_str() else {
        sink.error(
            node.pos,
            "name",
            format!("expected a string, found {}", node.value.kind()),
        );
        return None;
    };
    let ok = !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !name.starts_with('.');
    if !ok {
        sink.error(
            node.pos,
            "name",
            format!(
                "`{name}` is not a valid experiment name: use 1-100 letters, digits, `-`, `_` or `.`, not starting with `.`"
            ),
        );
        return None;
    }
    Some(name.to_string())
}

/// The `data:` block: where the MedMNIST files are, and the image folders.
fn check_data(
    node: &Node,
    folder: &Path,
    sink: &mut Sink,
) -> (Option<PathBuf>, Vec<ImageFolderDecl>) {
    let Value::Map(entries) = &node.value else {
        sink.error(
            node.pos,
            "data",
            "expected a mapping such as `{root: path/to/medmnist}`",
        );
        return (None, Vec::new());
    };
    let mut root = None;
    for (key, value) in entries {
        match key.name.as_str() {
            "root" => match value.as_str() {
                Some(s) if !s.is_empty() => {
                    let expanded = expand_home(s);
                    root = Some(if expanded.is_absolute() {
                        expanded
                    } else {
                        folder.join(expanded)
                    });
                }
                _ => sink.error(value.pos, "data.root", "expected a folder path"),
            },
            "image_folders" => {}
            other => sink.error(
                key.pos,
                format!("data.{other}"),
                format!("unknown key `{other}`; expected `root` or `image_folders`"),
            ),
        }
    }
    let folders = node.get("image_folders").map_or_else(Vec::new, |f| {
        let data_root = root
            .clone()
            .unwrap_or_else(crate::experiment::default_data_root);
        super::image_folders::check(f, &data_root, sink)
    });
    (root, folders)
}

pub(super) fn expand_home(s: &str) -> PathBuf {
    match (s.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(s),
    }
}

/// Sets `value` at a dotted path inside `target` (objects are created as needed).
pub(crate) fn set_path(target: &mut Json, path: &str, value: Json) {
    let mut cursor = target;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            cursor[part] = value;
            return;
        }
        if !cursor[part].is_object() {
            cursor[part] = Json::Object(Default::default());
        }
        cursor = &mut cursor[part];
    }
}

fn check_train(node: &Node, base: &mut Json, cx: &Context, sink: &mut Sink) {
    let Value::Map(entries) = &node.value else {
        sink.error(
            node.pos,
            "train",
            format!(
                "expected a mapping of training options, found {}",
                node.value.kind()
            ),
        );
        return;
    };
    for (key, value) in entries {
        let path = format!("train.{}", key.name);
        match schema::lookup(&key.name).filter(|f| !f.run_level) {
            Some(field) => {
                if let Some(v) = field.convert(value, &path, cx, sink) {
                    set_path(base, field.run_path, v);
                }
            }
            None => {
                let hint = if schema::RUN_KEYS.contains(&key.name.as_str()) {
                    format!("; `{}` is a grid axis, set it under `grid:`", key.name)
                } else {
                    suggestion(&key.name, schema::TRAIN_KEYS.iter().copied())
                };
                sink.error(
                    key.pos,
                    path,
                    format!("unknown training option `{}`{hint}", key.name),
                );
            }
        }
    }
}

/// Is this node a list of alternatives, or a single value of the field?
/// List-valued settings (explicit weights) must be nested: `[[1, 2, 3]]`.
fn alternatives(node: &Node) -> Vec<&Node> {
    match &node.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![node],
    }
}

fn field_for(name: &str, pos: node::Pos, path: &str, sink: &mut Sink) -> Option<FieldDef> {
    let field = schema::lookup(name);
    if field.is_none() {
        sink.error(
            pos,
            path,
            format!(
                "unknown field `{name}`{}",
                suggestion(name, schema::all_names())
            ),
        );
    }
    field
}

fn check_grid(node: &Node, cx: &Context, sink: &mut Sink) -> Vec<Axis> {
    let Value::Map(entries) = &node.value else {
        sink.error(
            node.pos,
            "grid",
            format!("expected a mapping of axes, found {}", node.value.kind()),
        );
        return Vec::new();
    };
    let mut axes = Vec::new();
    for (key, value) in entries {
        let path = format!("grid.{}", key.name);
        let Some(field) = field_for(&key.name, key.pos, &path, sink) else {
            continue;
        };
        // A sampled axis draws its values; `None` when it was reported.
        let sampled = super::sampled::is_sampled(value)
            .then(|| super::sampled::expand(&field, value, &path, cx, sink));
        let drawn_all = sampled.as_ref().map(Option::is_some);
        let items = if sampled.is_some() {
            Vec::new()
        } else {
            alternatives(value)
        };
        if items.is_empty() && drawn_all.is_none() {
            sink.error(value.pos, &path, "an axis needs at least one value");
            continue;
        }
        let mut values = sampled.flatten().unwrap_or_default();
        for (i, item) in items.iter().enumerate() {
            let item_path = if matches!(value.value, Value::Seq(_)) {
                format!("{path}[{i}]")
            } else {
                path.clone()
            };
            if let Some(v) = field.convert(item, &item_path, cx, sink) {
                values.push(Assignment {
                    run_path: field.run_path,
                    value: v,
                    pos: item.pos,
                });
            }
        }
        if axes
            .iter()
            .any(|a: &Axis| a.values.first().map(|v| v.run_path) == Some(field.run_path))
        {
            sink.error(
                key.pos,
                &path,
                format!("`{}` is given twice (as another spelling)", key.name),
            );
            continue;
        }
        let complete = drawn_all.unwrap_or(values.len() == items.len());
        if complete {
            axes.push(Axis {
                name: key.name.clone(),
                values,
            });
        }
    }
    crate::expand::order_axes(&mut axes);
    axes
}

fn check_zip(node: &Node, axes: &[Axis], sink: &mut Sink) -> Vec<Vec<usize>> {
    let Value::Seq(groups) = &node.value else {
        sink.error(
            node.pos,
            "zip",
            "expected a list of axis groups, e.g. `[[lr, batch_size]]`",
        );
        return Vec::new();
    };
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        let path = format!("zip[{g}]");
        let Value::Seq(names) = &group.value else {
            sink.error(
                group.pos,
                &path,
                "expected a list of at least two axis names",
            );
            continue;
        };
        let mut members = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            let Some(name) = n.as_str() else {
                sink.error(n.pos, &item_path, "expected an axis name");
                continue;
            };
            match axes.iter().position(|a| a.name == name) {
                Some(idx) if out.iter().flatten().any(|&j| j == idx) || members.contains(&idx) => {
                    sink.error(
                        n.pos,
                        &item_path,
                        format!("axis `{name}` is already in a zip group"),
                    );
                }
                Some(idx) => members.push(idx),
                None => sink.error(
                    n.pos,
                    &item_path,
                    format!(
                        "`{name}` is not a grid axis{}",
                        suggestion(name, axes.iter().map(|a| a.name.as_str()))
                    ),
                ),
            }
        }
        if members.len() < 2 {
            sink.error(group.pos, &path, "a zip group needs at least two axes");
            continue;
        }
        let len = axes[members[0]].values.len();
        if members.iter().any(|&m| axes[m].values.len() != len) {
            let lens: Vec<String> = members
                .iter()
                .map(|&m| format!("{} has {}", axes[m].name, axes[m].values.len()))
                .collect();
            sink.error(
                group.pos,
                &path,
                format!(
                    "zipped axes must have the same number of values ({})",
                    lens.join(", ")
                ),
            );
            continue;
        }
        members.sort_unstable();
        out.push(members);
    }
    out
}

/// `include:` / `exclude:` — lists of `{field: value}` mappings.
fn check_entries(node: &Node, what: &str, cx: &Context, sink: &mut Sink) -> Vec<Vec<Assignment>> {
    let Value::Seq(items) = &node.value else {
        sink.error(
            node.pos,
            what,
            format!(
                "expected a list of mappings such as `- {{arch: resnet18, lr: 0.01}}`, found {}",
                node.value.kind()
            ),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("{what}[{i}]");
        let Value::Map(entries) = &item.value else {
            sink.error(
                item.pos,
                &path,
                format!("expected a mapping of fields, found {}", item.value.kind()),
            );
            continue;
        };
        let mut assignments = Vec::new();
        for (key, value) in entries {
            let field_path = format!("{path}.{}", key.name);
            if let Some(field) = field_for(&key.name, key.pos, &field_path, sink)
                && let Some(v) = field.convert(value, &field_path, cx, sink)
            {
                assignments.push(Assignment {
                    run_path: field.run_path,
                    value: v,
                    pos: value.pos,
                });
            }
        }
        if entries.is_empty() {
            sink.error(item.pos, &path, "an empty entry would match everything");
        }
        out.push(assignments);
    }
    out
}

fn check_resources(node: &Node, sink: &mut Sink) -> Resources {
    let mut res = Resources::default();
    let Value::Map(entries) = &node.value else {
        sink.error(
            node.pos,
            "resources",
            "expected a mapping with devices, runs_per_gpu, cpu_threads_per_run, grow_threads",
        );
        return res;
    };
    let keys = [
        "devices",
        "runs_per_gpu",
        "cpu_threads_per_run",
        "grow_threads",
    ];
    for (key, value) in entries {
        let path = format!("resources.{}", key.name);
        match key.name.as_str() {
            "devices" => match parse_devices(value) {
                Some(d) => res.devices = d,
                None => sink.error(
                    value.pos,
                    &path,
                    "expected `auto`, `cpu`, `cuda` or a list like `cuda:0,1`",
                ),
            },
            "runs_per_gpu" | "cpu_threads_per_run" => {
                let v = match value.value {
                    Value::Int(i) if (1..=256).contains(&i) => Some(i as u32),
                    _ if value.as_str() == Some("auto") => None,
                    _ => {
                        sink.error(value.pos, &path, "expected `auto` or an integer in 1..=256");
                        None
                    }
                };
                if key.name == "runs_per_gpu" {
                    res.runs_per_gpu = v;
                } else {
                    res.cpu_threads_per_run = v;
                }
            }
            "grow_threads" => match value.value {
                Value::Bool(b) => res.grow_threads = b,
                _ => sink.error(value.pos, &path, "expected true or false"),
            },
            other => sink.error(
                key.pos,
                &path,
                format!(
                    "unknown key `{other}`; expected one of {}{}",
                    keys.join(", "),
                    suggestion(other, keys)
                ),
            ),
        }
    }
    res
}

/// `auto`, `cpu`, `cuda` (all GPUs), `cuda:0,1`.
pub fn parse_devices_text(text: &str) -> Option<Devices> {
    match text.trim() {
        "auto" => Some(Devices::Auto),
        "cpu" => Some(Devices::Cpu),
        "cuda" | "gpu" => Some(Devices::Cuda(Vec::new())),
        other => {
            let list = other.strip_prefix("cuda:")?;
            let ids: Option<Vec<u32>> = list.split(',').map(|s| s.trim().parse().ok()).collect();
            ids.filter(|v| !v.is_empty()).map(Devices::Cuda)
        }
    }
}

fn parse_devices(node: &Node) -> Option<Devices> {
    match &node.value {
        Value::Str(s) => parse_devices_text(s),
        _ => None,
    }
}

fn check_smoke(node: &Node, sink: &mut Sink) -> Smoke {
    let mut smoke = Smoke::default();
    let Value::Map(entries) = &node.value else {
        sink.error(
            node.pos,
            "smoke",
            "expected a mapping with epochs, subset, folds, batch_size",
        );
        return smoke;
    };
    let keys = ["epochs", "subset", "folds", "batch_size", "input_size"];
    for (key, value) in entries {
        let path = format!("smoke.{}", key.name);
        let int = |sink: &mut Sink, min: i64| match value.value {
            Value::Int(i) if i >= min && i <= 1_000_000 => Some(i as u32),
            _ => {
                sink.error(value.pos, &path, format!("expected an integer ≥ {min}"));
                None
            }
        };
        match key.name.as_str() {
            "epochs" => smoke.epochs = int(sink, 1).unwrap_or(smoke.epochs),
            "subset" => smoke.subset = int(sink, 1).unwrap_or(smoke.subset),
            "folds" => smoke.folds = int(sink, 2).unwrap_or(smoke.folds),
            "batch_size" => smoke.batch_size = int(sink, 1).or(smoke.batch_size),
            "input_size" => smoke.input_size = int(sink, 8).or(smoke.input_size),
            other => sink.error(
                key.pos,
                &path,
                format!(
                    "unknown key `{other}`; expected one of {}{}",
                    keys.join(", "),
                    suggestion(other, keys)
                ),
            ),
        }
    }
    smoke
}

/// `slurm:` — defaults for `sweep run --backend slurm` (flags override them).
fn check_slurm(node: &Node, sink: &mut Sink) -> SlurmDefaults {
    let mut out = SlurmDefaults::default();
    let keys = [
        "partition",
        "account",
        "time",
        "gpus_per_run",
        "cpus_per_run",
        "mem",
        "array_parallelism",
        "runs_per_task",
        "sbatch_args",
    ];
    let Value::Map(entries) = &node.value else {
        sink.error(
            node.pos,
            "slurm",
            format!("expected a mapping with keys {}", keys.join(", ")),
        );
        return out;
    };
    for (key, value) in entries {
        let path = format!("slurm.{}", key.name);
        let text = |sink: &mut Sink| match value.as_str() {
            Some(s) if !s.is_empty() => Some(s.to_string()),
            _ => {
                sink.error(value.pos, &path, "expected a string");
                None
            }
        };
        let int = |sink: &mut Sink, min: i64| match value.value {
            Value::Int(i) if i >= min && i <= 100_000 => Some(i as u32),
            _ => {
                sink.error(value.pos, &path, format!("expected an integer ≥ {min}"));
                None
            }
        };
        match key.name.as_str() {
            "partition" => out.partition = text(sink),
            "account" => out.account = text(sink),
            "time" => out.time = text(sink),
            "mem" => out.mem = text(sink),
            "gpus_per_run" => out.gpus_per_run = int(sink, 0),
            "cpus_per_run" => out.cpus_per_run = int(sink, 1),
            "array_parallelism" => out.array_parallelism = int(sink, 1),
            "runs_per_task" => out.runs_per_task = int(sink, 1),
            "sbatch_args" => match &value.value {
                Value::Seq(items) => {
                    for (i, item) in items.iter().enumerate() {
                        match item.as_str() {
                            Some(s) => out.sbatch_args.push(s.to_string()),
                            None => sink.error(
                                item.pos,
                                format!("{path}[{i}]"),
                                "expected a string such as `--qos=high`",
                            ),
                        }
                    }
                }
                _ => sink.error(
                    value.pos,
                    &path,
                    "expected a list of strings such as [--qos=high]",
                ),
            },
            other => sink.error(
                key.pos,
                &path,
                format!(
                    "unknown key `{other}`; expected one of {}{}",
                    keys.join(", "),
                    suggestion(other, keys)
                ),
            ),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grow_threads_is_a_boolean_off_by_default() {
        let path = Path::new("x.yaml");
        let base =
            "name: t\ngrid:\n  dataset: synthetic:breastmnist\n  arch: small_cnn\n  lr: 0.001\n";
        let exp = load_str(base, path).unwrap();
        assert!(!exp.resources.grow_threads);
        let exp = load_str(&format!("{base}resources: {{grow_threads: true}}\n"), path).unwrap();
        assert!(exp.resources.grow_threads);
        let err = load_str(&format!("{base}resources:\n  grow_threads: 2\n"), path).unwrap_err();
        assert_eq!(
            err.lines(),
            ["x.yaml:7:17: resources.grow_threads: expected true or false"]
        );
    }

    #[test]
    fn load_bytes_rejects_what_load_rejects_before_parsing() {
        let path = Path::new("x.yaml");
        let err = load_bytes(b"name: \xff\n".to_vec(), path).unwrap_err();
        assert_eq!(
            err.lines(),
            ["x.yaml: file is not valid UTF-8 (first bad byte at offset 6)"]
        );
        let err = load_bytes(vec![b'#'; MAX_FILE_BYTES as usize + 1], path).unwrap_err();
        assert_eq!(
            err.lines(),
            [format!(
                "x.yaml: file is {} bytes; experiment files are limited to {MAX_FILE_BYTES}",
                MAX_FILE_BYTES + 1
            )]
        );
    }
}
