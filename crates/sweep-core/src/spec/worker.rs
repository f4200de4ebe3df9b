//! Reading `worker: {command: [...], code: [...]}`: a training command of the
//! user's own (see [`crate::worker_command`]).
//!
//! Besides the shape (a non-empty list of strings for `command`, relative
//! paths for `code`), a file being read is checked against its folder: the
//! program must be found and every `code` path must exist. A command that
//! could not start is thus an error at validation, with its line, before any
//! run is planned or started.

use serde_json::{Value as Json, json};

use super::context::Context;
use super::diagnostic::{Sink, suggestion};
use super::node::{Node, Value};
use super::schema::{describe, is_off};
use crate::experiment::ProgramDecl;

const KEYS: [&str; 2] = ["command", "code"];

/// The `worker` field: `none`, or `{command, code}`.
pub(super) fn worker(node: &Node, path: &str, cx: &Context, sink: &mut Sink) -> Option<Json> {
    if is_off(node) {
        return Some(Json::Null);
    }
    let Value::Map(entries) = &node.value else {
        sink.error(
            node.pos,
            path,
            format!(
                "expected `{{command: [program, args…], code: [files…]}}` or `none`, found {}",
                describe(node)
            ),
        );
        return None;
    };
    let mut ok = true;
    let mut command = None;
    let mut code = Vec::new();
    for (key, value) in entries {
        let sub = format!("{path}.{}", key.name);
        match key.name.as_str() {
            "command" => command = command_list(value, &sub, cx, sink),
            "code" => match code_list(value, &sub, cx, sink) {
                Some(list) => code = list,
                None => ok = false,
            },
            other => {
                sink.error(
                    key.pos,
                    &sub,
                    format!(
                        "unknown key `{other}`; expected one of {}{}",
                        KEYS.join(", "),
                        suggestion(other, KEYS)
                    ),
                );
                ok = false;
            }
        }
    }
    if command.is_none() && !entries.iter().any(|(k, _)| k.name == "command") {
        sink.error(
            node.pos,
            format!("{path}.command"),
            "missing required key `command` (the program and its arguments, as a list)",
        );
    }
    let command = command?;
    ok.then(|| json!({ "command": command, "code": code }))
}

/// The strings of a list node, each reported at its place when it is not one.
fn strings<'a>(
    node: &'a Node,
    path: &str,
    what: &str,
    sink: &mut Sink,
) -> Option<Vec<(&'a Node, String)>> {
    let Value::Seq(items) = &node.value else {
        sink.error(
            node.pos,
            path,
            format!("expected a list of {what}, found {}", describe(node)),
        );
        return None;
    };
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        match &item.value {
            Value::Str(s) if !s.is_empty() => out.push((item, s.clone())),
            // Numbers are arguments too (`--epochs, 5`): passed as written.
            Value::Int(i) => out.push((item, i.to_string())),
            Value::Float(f) => out.push((item, f.to_string())),
            _ => {
                sink.error(
                    item.pos,
                    format!("{path}[{i}]"),
                    format!("expected a non-empty string, found {}", describe(item)),
                );
                ok = false;
            }
        }
    }
    ok.then_some(out)
}

/// `command`: the program, then its arguments. It is an argument vector: no
/// shell ever reads it. When a file is being read, the program is noted for
/// [`crate::experiment::Experiment::check_programs`].
fn command_list(node: &Node, path: &str, cx: &Context, sink: &mut Sink) -> Option<Vec<String>> {
    let items = strings(
        node,
        path,
        "strings (the program, then its arguments)",
        sink,
    )?;
    let Some((first, program)) = items.first() else {
        sink.error(
            node.pos,
            path,
            "the command is empty; give the program and its arguments, e.g. [python3, train.py]",
        );
        return None;
    };
    if let Some(folder) = cx.folder() {
        sink.programs.push(ProgramDecl {
            name: program.clone(),
            field: format!("{path}[0]"),
            pos: first.pos,
            folder: folder.to_path_buf(),
        });
    }
    Some(items.into_iter().map(|(_, s)| s).collect())
}

/// `code`: paths relative to the experiment file's folder (a trailing `/`
/// and a leading `./` are dropped; `..` may reach a sibling folder), each
/// of which must exist when a file is being read.
fn code_list(node: &Node, path: &str, cx: &Context, sink: &mut Sink) -> Option<Vec<String>> {
    let items = strings(node, path, "files and folders", sink)?;
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, (item, written)) in items.into_iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        let trimmed = written.trim_end_matches('/');
        let trimmed = trimmed.strip_prefix("./").unwrap_or(trimmed);
        let relative = std::path::Path::new(trimmed);
        // Relative, so the key does not depend on where the project lies.
        if trimmed.is_empty() || relative.is_absolute() {
            sink.error(
                item.pos,
                &item_path,
                format!("`{written}`: code paths are relative to the experiment file's folder"),
            );
            ok = false;
            continue;
        }
        if let Some(folder) = cx.folder()
            && !folder.join(relative).exists()
        {
            sink.error(
                item.pos,
                &item_path,
                format!("{} not found", folder.join(relative).display()),
            );
            ok = false;
            continue;
        }
        out.push(trimmed.to_string());
    }
    ok.then_some(out)
}
