//! The `data.image_folders` block: datasets that are folders of images.
//!
//! ```yaml
//! data:
//!   image_folders:
//!     medical_mnist:
//!       path: medical_mnist        # inside the data root, or absolute
//!       classes: [AbdomenCT, BreastMRI, CXR, ChestCT, Hand, HeadCT]
//!       size: 64                   # decoded to 64 x 64
//!       channels: 1                # 1 (grayscale) or 3 (RGB, the default)
//!       split: {train: 0.7, val: 0.15, test: 0.15, seed: 42}
//! ```
//!
//! `labels_csv: labels.csv` instead of sub-folders makes a multi-label set.
//! When `classes` is omitted the folder is read now to find them (sorted
//! sub-folder names, or the CSV header), so validation needs the images;
//! listing them keeps `sweep validate` independent of the data.

use std::path::Path;

use sweep_data::image_folder::{
    ImageFolderDef, Labelling, MAX_CLASSES, RatioSplit, discover_classes,
};

use super::diagnostic::{Sink, suggestion};
use super::node::{Node, Value};
use crate::experiment::ImageFolderDecl;

const KEYS: &[&str] = &["path", "classes", "labels_csv", "size", "channels", "split"];
const SPLIT_KEYS: &[&str] = &["train", "val", "test", "seed"];

/// Every well-formed name declared in the block, valid settings or not, so
/// that a mistake in a folder's settings is not reported a second time as
/// an unknown dataset wherever the name is used.
pub(super) fn names(node: &Node) -> Vec<String> {
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .map(|(k, _)| k.name.clone())
            .filter(|n| valid_name(n) && sweep_data::catalog::lookup(n).is_none())
            .collect(),
        _ => Vec::new(),
    }
}

/// Checks every declared folder; `data_root` resolves relative paths when
/// classes have to be discovered.
pub(super) fn check(node: &Node, data_root: &Path, sink: &mut Sink) -> Vec<ImageFolderDecl> {
    let Value::Map(entries) = &node.value else {
        sink.error(
            node.pos,
            "data.image_folders",
            "expected a mapping of dataset names to folder settings",
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in entries {
        let at = format!("data.image_folders.{}", key.name);
        if !valid_name(&key.name) {
            sink.error(
                key.pos,
                &at,
                "dataset names use lower-case letters, digits and `_`, starting with a letter",
            );
            continue;
        }
        if sweep_data::catalog::lookup(&key.name).is_some() {
            sink.error(
                key.pos,
                &at,
                format!(
                    "`{}` is a built-in MedMNIST dataset; choose another name",
                    key.name
                ),
            );
            continue;
        }
        if let Some(decl) = check_one(&key.name, value, &at, data_root, sink) {
            out.push(decl);
        }
    }
    out
}

fn valid_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn check_one(
    name: &str,
    node: &Node,
    at: &str,
    data_root: &Path,
    sink: &mut Sink,
) -> Option<ImageFolderDecl> {
    let Value::Map(entries) = &node.value else {
        sink.error(
            node.pos,
            at,
            "expected a mapping with at least `path` and `size`",
        );
        return None;
    };
    let before = sink.diagnostics.len();
    for (key, _) in entries {
        if !KEYS.contains(&key.name.as_str()) {
            sink.error(
                key.pos,
                format!("{at}.{}", key.name),
                format!(
                    "unknown key `{}`; expected one of {}{}",
                    key.name,
                    KEYS.join(", "),
                    suggestion(&key.name, KEYS.iter().copied())
                ),
            );
        }
    }
    let path = match node.get("path") {
        Some(p) => match p.as_str() {
            Some(s) if !s.is_empty() => Some((super::validate::expand_home(s), p)),
            _ => {
                sink.error(p.pos, format!("{at}.path"), "expected a folder path");
                None
            }
        },
        None => {
            sink.error(
                node.pos,
                format!("{at}.path"),
                "missing required key `path`",
            );
            None
        }
    };
    let labelling = match node.get("labels_csv") {
        None => Labelling::ClassFolders,
        Some(n) => match n.as_str() {
            Some(s) if !s.is_empty() => Labelling::Csv {
                file: s.to_string(),
            },
            _ => {
                sink.error(
                    n.pos,
                    format!("{at}.labels_csv"),
                    "expected the name of a CSV file inside the folder",
                );
                Labelling::ClassFolders
            }
        },
    };
    let size = match node.get("size") {
        Some(n) => match n.value {
            Value::Int(s) if (8..=1024).contains(&s) => Some(s as u32),
            _ => {
                sink.error(
                    n.pos,
                    format!("{at}.size"),
                    "expected the side length images are resized to, 8 to 1024 pixels",
                );
                None
            }
        },
        None => {
            sink.error(
                node.pos,
                format!("{at}.size"),
                "missing required key `size` (the side length images are resized to, e.g. 64)",
            );
            None
        }
    };
    let channels = match node.get("channels") {
        None => 3,
        Some(n) => match n.value {
            Value::Int(c @ (1 | 3)) => c as u8,
            _ => {
                sink.error(
                    n.pos,
                    format!("{at}.channels"),
                    "expected 1 (grayscale) or 3 (RGB)",
                );
                3
            }
        },
    };
    let split = node
        .get("split")
        .map_or(Some(RatioSplit::default()), |n| check_split(n, at, sink));
    let classes = match node.get("classes") {
        Some(n) => check_classes(n, at, sink),
        None => path.as_ref().and_then(|(p, pnode)| {
            let folder = if p.is_absolute() {
                p.clone()
            } else {
                data_root.join(p)
            };
            match discover_classes(&folder, &labelling) {
                Ok(found) => Some(found),
                Err(why) => {
                    sink.error(
                        pnode.pos,
                        format!("{at}.path"),
                        format!(
                            "cannot find the classes: {why}; list them under `classes:` to validate without the folder"
                        ),
                    );
                    None
                }
            }
        }),
    };
    if sink.diagnostics.len() > before {
        return None;
    }
    Some(ImageFolderDecl {
        def: ImageFolderDef {
            name: name.to_string(),
            labelling,
            classes: classes?,
            size: size?,
            channels,
            split: split?,
        },
        path: path.map(|(p, _)| p)?,
    })
}

fn check_classes(node: &Node, at: &str, sink: &mut Sink) -> Option<Vec<String>> {
    let field = format!("{at}.classes");
    let Value::Seq(items) = &node.value else {
        sink.error(node.pos, &field, "expected a list of class names");
        return None;
    };
    let mut names: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let name = match &item.value {
            Value::Str(s) => s.clone(),
            Value::Int(v) => v.to_string(),
            _ => String::new(),
        };
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            sink.error(
                item.pos,
                format!("{field}[{i}]"),
                "expected a class (sub-folder) name",
            );
        } else if names.contains(&name) {
            sink.error(
                item.pos,
                format!("{field}[{i}]"),
                format!("`{name}` is listed twice"),
            );
        } else {
            names.push(name);
        }
    }
    if !(2..=MAX_CLASSES).contains(&items.len()) {
        sink.error(
            node.pos,
            &field,
            format!("expected 2 to {MAX_CLASSES} classes, found {}", items.len()),
        );
        return None;
    }
    (names.len() == items.len()).then_some(names)
}

fn check_split(node: &Node, at: &str, sink: &mut Sink) -> Option<RatioSplit> {
    let field = format!("{at}.split");
    let Value::Map(entries) = &node.value else {
        sink.error(
            node.pos,
            &field,
            "expected a mapping such as `{train: 0.7, val: 0.15, test: 0.15, seed: 0}`",
        );
        return None;
    };
    let mut split = RatioSplit {
        seed: 0,
        ..RatioSplit::default()
    };
    let mut ok = true;
    for (key, value) in entries {
        let slot = match key.name.as_str() {
            "train" => &mut split.train,
            "val" => &mut split.val,
            "test" => &mut split.test,
            "seed" => {
                match value.value {
                    Value::Int(s) if s >= 0 => split.seed = s as u64,
                    _ => {
                        sink.error(
                            value.pos,
                            format!("{field}.seed"),
                            "expected an integer >= 0",
                        );
                        ok = false;
                    }
                }
                continue;
            }
            other => {
                sink.error(
                    key.pos,
                    format!("{field}.{other}"),
                    format!(
                        "unknown key `{other}`; expected one of {}{}",
                        SPLIT_KEYS.join(", "),
                        suggestion(other, SPLIT_KEYS.iter().copied())
                    ),
                );
                ok = false;
                continue;
            }
        };
        match value.as_f64() {
            Some(f) if f > 0.0 && f < 1.0 => *slot = f,
            _ => {
                sink.error(
                    value.pos,
                    format!("{field}.{}", key.name),
                    "expected a fraction between 0 and 1 (exclusive)",
                );
                ok = false;
            }
        }
    }
    let sum = split.train + split.val + split.test;
    if ok && (sum - 1.0).abs() > 1e-6 {
        sink.error(
            node.pos,
            &field,
            format!("train + val + test must be 1, found {sum}"),
        );
        ok = false;
    }
    ok.then_some(split)
}
