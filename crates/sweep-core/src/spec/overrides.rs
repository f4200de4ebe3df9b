//! Command-line overrides: `--set train.epochs=50 --set grid.lr=[1e-3,3e-4]`
//! changes values of an experiment file without editing it.
//!
//! Each override is `PATH=VALUE`, where `PATH` names a key of the file by
//! its dotted path (`train.optimizer.weight_decay`, `grid.lr`, `name`) and
//! `VALUE` is YAML, read as it would be in the file (`[1e-3, 3e-4]`, `none`,
//! `{name: sgd, momentum: 0.9}`, or empty for null). Overrides are applied
//! to the parsed document, in order, before it is validated: the value
//! replaces the one at `PATH` (mappings on the way are created when
//! missing), and the result is checked exactly as a file is, with the same
//! messages. A problem in a value that came from `--set` points into the
//! `--set` text instead of the file:
//!
//! ```text
//! error: --set train.epochs=fifty: train.epochs: expected an integer, found a string
//!   |
//!   | --set train.epochs=fifty
//!   |                    ^
//! ```
//!
//! To tell them apart, the nodes an override adds carry positions on a
//! line of their own beyond any file's, [`OVERRIDE_LINE`] + the override's
//! index; their column counts from the start of `PATH=VALUE`.

use std::fmt;
use std::path::Path;

use super::diagnostic::{Diagnostic, SpecErrors};
use super::node::{self, Key, Node, Pos, Value};
use super::validate;
use crate::experiment::Experiment;

/// The line of the first override's positions (no file is this long:
/// experiment files are limited to 4 MiB).
pub const OVERRIDE_LINE: u64 = 1 << 40;

/// An experiment that failed to load: the problems in the file and in the
/// overrides applied to it.
#[derive(Debug, Clone)]
pub struct LoadError {
    pub errors: SpecErrors,
    /// The `--set` texts, indexed by the position lines of their problems.
    pub overrides: Vec<String>,
}

impl LoadError {
    /// The `--set` argument a problem is in, if it is in one.
    fn override_of(&self, d: &Diagnostic) -> Option<&str> {
        let line = d.pos?.line.checked_sub(OVERRIDE_LINE)?;
        self.overrides
            .get(usize::try_from(line).ok()?)
            .map(String::as_str)
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (in_args, in_file): (Vec<&Diagnostic>, Vec<&Diagnostic>) = self
            .errors
            .diagnostics
            .iter()
            .partition(|d| self.override_of(d).is_some());
        if !in_file.is_empty() || in_args.is_empty() {
            let file_only = SpecErrors {
                diagnostics: in_file.into_iter().cloned().collect(),
                ..self.errors.clone()
            };
            write!(f, "{file_only}")?;
            if !in_args.is_empty() {
                writeln!(f)?;
            }
        }
        for d in &in_args {
            let arg = self.override_of(d).unwrap_or_default();
            let column = d.pos.map_or(1, |p| p.column) as usize;
            let path = if d.path.is_empty() {
                String::new()
            } else {
                format!("{}: ", d.path)
            };
            writeln!(f, "error: --set {arg}: {path}{}", d.message)?;
            writeln!(f, "  |")?;
            writeln!(f, "  | --set {arg}")?;
            writeln!(f, "  | {}^", " ".repeat("--set ".len() + column - 1))?;
        }
        if !in_args.is_empty() {
            let n = in_args.len();
            write!(f, "{n} problem{} in --set", if n == 1 { "" } else { "s" })?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// Reads an experiment file, applies `overrides` (`PATH=VALUE` texts, in
/// order) and validates the result. Without overrides this is
/// [`validate::load`]. Returns the experiment and the file's text.
pub fn load_with_overrides(
    path: &Path,
    overrides: &[String],
) -> Result<(Experiment, String), LoadError> {
    let fail = |errors| LoadError {
        errors,
        overrides: overrides.to_vec(),
    };
    let text = validate::read_text(path).map_err(fail)?;
    let exp = load_text_with_overrides(&text, path, overrides)?;
    Ok((exp, text))
}

/// [`load_with_overrides`] on text already read (a recorded experiment).
pub fn load_text_with_overrides(
    text: &str,
    path: &Path,
    overrides: &[String],
) -> Result<Experiment, LoadError> {
    let fail = |errors| LoadError {
        errors,
        overrides: overrides.to_vec(),
    };
    let mut root = validate::parse_text(text, path).map_err(fail)?;
    let mut problems = Vec::new();
    for (i, o) in overrides.iter().enumerate() {
        if let Err(d) = parse(o, i).and_then(|o| o.apply(&mut root)) {
            problems.push(d);
        }
    }
    if !problems.is_empty() {
        return Err(fail(SpecErrors {
            file: path.to_path_buf(),
            source: text.to_string(),
            diagnostics: problems,
        }));
    }
    validate::check_root(&root, text, path).map_err(fail)
}

/// One parsed `--set`.
#[derive(Debug, Clone)]
struct Override {
    /// The keys of the path, each with its position.
    path: Vec<Key>,
    value: Node,
}

/// Where column `column` (1-based) of override `index` is.
fn at(index: usize, column: usize) -> Pos {
    Pos {
        line: OVERRIDE_LINE + index as u64,
        column: column as u64,
    }
}

/// Parses `PATH=VALUE`, the `index`-th override.
fn parse(text: &str, index: usize) -> Result<Override, Diagnostic> {
    let problem = |column: usize, path: &str, message: String| Diagnostic {
        pos: Some(at(index, column)),
        path: path.to_string(),
        message,
    };
    let Some((path_text, value_text)) = text.split_once('=') else {
        return Err(problem(
            1,
            "",
            "expected PATH=VALUE, e.g. `train.epochs=50` or `grid.lr=[1e-3, 3e-4]`".into(),
        ));
    };
    let mut path = Vec::new();
    let mut column = 1;
    for name in path_text.split('.') {
        let trimmed = name.trim();
        if trimmed.is_empty() {
            return Err(problem(
                column,
                path_text,
                format!("`{path_text}` is not a dotted path of keys, e.g. `train.epochs`"),
            ));
        }
        path.push(Key {
            pos: at(index, column),
            name: trimmed.to_string(),
        });
        column += name.len() + 1;
    }
    let value_column = path_text.len() + 1;
    let mut value = if value_text.trim().is_empty() {
        Node {
            pos: at(index, value_column + 1),
            value: Value::Null,
        }
    } else {
        node::parse(value_text).map_err(|e| {
            let col = e.pos.map_or(1, |p| p.column as usize);
            problem(
                value_column + col,
                path_text,
                format!("invalid YAML value: {}", e.message),
            )
        })?
    };
    relocate(&mut value, index, value_column);
    Ok(Override { path, value })
}

/// Moves a value's positions onto the override's line, `offset` columns
/// to the right (where the value starts in `PATH=VALUE`).
fn relocate(node: &mut Node, index: usize, offset: usize) {
    node.pos = at(index, offset + node.pos.column as usize);
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|n| relocate(n, index, offset)),
        Value::Map(entries) => {
            for (key, value) in entries {
                key.pos = at(index, offset + key.pos.column as usize);
                relocate(value, index, offset);
            }
        }
        _ => {}
    }
}

impl Override {
    /// Sets the value at the path in `root`, creating mappings on the way.
    fn apply(self, root: &mut Node) -> Result<(), Diagnostic> {
        let Override { path, value } = self;
        let mut cursor = root;
        for (depth, key) in path.iter().enumerate() {
            let dotted = path[..=depth]
                .iter()
                .map(|k| k.name.as_str())
                .collect::<Vec<_>>()
                .join(".");
            let kind = cursor.value.kind();
            let Value::Map(entries) = &mut cursor.value else {
                let parent = path[..depth]
                    .iter()
                    .map(|k| k.name.as_str())
                    .collect::<Vec<_>>()
                    .join(".");
                return Err(Diagnostic {
                    pos: Some(key.pos),
                    path: dotted,
                    message: format!(
                        "`{parent}` is {kind}, not a mapping: set it whole, e.g. `--set {parent}=…`"
                    ),
                });
            };
            let last = depth + 1 == path.len();
            let slot = match entries.iter().position(|(k, _)| k.name == key.name) {
                Some(i) => i,
                None => {
                    entries.push((
                        key.clone(),
                        Node {
                            pos: key.pos,
                            value: Value::Map(Vec::new()),
                        },
                    ));
                    entries.len() - 1
                }
            };
            if last {
                entries[slot].1 = value;
                return Ok(());
            }
            cursor = &mut entries[slot].1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "name: x
grid:
  dataset: synthetic:breastmnist
  arch: small_cnn
  lr: 1e-3
train:
  epochs: 3
";

    fn load(overrides: &[&str]) -> Result<Experiment, LoadError> {
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        load_text_with_overrides(FILE, Path::new("x.yaml"), &overrides)
    }

    #[test]
    fn overrides_replace_values_and_add_missing_ones() {
        let exp = load(&[
            "train.epochs=50",
            "grid.lr=[1e-3, 3e-4]",
            "train.batch_size=32",
        ])
        .unwrap();
        assert_eq!(exp.base["train"]["epochs"], 50);
        assert_eq!(exp.base["train"]["batch_size"], 32);
        let lr = exp.axes.iter().find(|a| a.name == "lr").unwrap();
        let values: Vec<f64> = lr
            .values
            .iter()
            .map(|v| v.value.as_f64().unwrap())
            .collect();
        assert_eq!(values, [1e-3, 3e-4]);
        // Later overrides win; a mapping on the way is created.
        let exp = load(&["train.epochs=5", "train.epochs=6"]).unwrap();
        assert_eq!(exp.base["train"]["epochs"], 6);
        let exp = load(&["train.optimizer.name=sgd"]).unwrap();
        assert_eq!(exp.base["train"]["optimizer"]["name"], "sgd");
        // Without overrides, the file as it is.
        assert_eq!(load(&[]).unwrap().base["train"]["epochs"], 3);
    }

    #[test]
    fn a_bad_value_points_into_the_set_text() {
        let err = load(&["train.epochs=fifty"]).unwrap_err();
        let text = err.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("error: --set train.epochs=fifty: train.epochs: "),
            "{text}"
        );
        assert_eq!(lines[2], "  | --set train.epochs=fifty");
        let caret = lines[3].find('^').unwrap();
        assert_eq!(&lines[2][caret..], "fifty", "{text}");
        assert_eq!(lines[4], "1 problem in --set");
    }

    #[test]
    fn an_unknown_path_is_named_with_a_suggestion() {
        let text = load(&["train.epoch=5"]).unwrap_err().to_string();
        assert!(text.contains("unknown training option `epoch`"), "{text}");
        assert!(text.contains("did you mean `epochs`?"), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        let caret = lines[3].find('^').unwrap();
        assert_eq!(&lines[2][caret..], "epoch=5", "{text}");
    }

    #[test]
    fn malformed_overrides_say_what_is_expected() {
        let text = load(&["train.epochs"]).unwrap_err().to_string();
        assert!(text.contains("expected PATH=VALUE"), "{text}");
        let text = load(&["train..epochs=3"]).unwrap_err().to_string();
        assert!(text.contains("not a dotted path of keys"), "{text}");
        let text = load(&["grid.lr=[1e-3"]).unwrap_err().to_string();
        assert!(text.contains("invalid YAML value"), "{text}");
        let text = load(&["grid.lr.x=1"]).unwrap_err().to_string();
        assert!(
            text.contains("`grid.lr` is a number, not a mapping"),
            "{text}"
        );
    }

    #[test]
    fn problems_in_the_file_still_point_into_the_file() {
        let bad = FILE.replace("epochs: 3", "epochs: three");
        let err = load_text_with_overrides(&bad, Path::new("x.yaml"), &["grid.lr=0.1".into()])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("error: x.yaml:7:11: train.epochs"), "{err}");
    }
}
