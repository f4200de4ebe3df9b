//! Spec problems, each tied to a place in the file, rendered like a compiler.
//!
//! A researcher should be able to jump to `experiments/x.yaml:12:7` from the
//! terminal, see the offending line, and know which field was wrong and what
//! would have been accepted. All problems of a file are collected and shown
//! together, sorted by position.

use std::fmt;
use std::path::PathBuf;

use super::node::Pos;

/// One problem in an experiment file.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Where the offending key or value starts (None if the YAML parser gave no position).
    pub pos: Option<Pos>,
    /// Field path such as `grid.lr[1]` or `train.optimizer.name`.
    pub path: String,
    pub message: String,
}

/// Every problem found in one experiment file.
#[derive(Debug, Clone)]
pub struct SpecErrors {
    pub file: PathBuf,
    pub source: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl SpecErrors {
    /// The one-line-per-problem form (`file:line:col: path: message`), as
    /// tests and `--json` consumers want it.
    pub fn lines(&self) -> Vec<String> {
        self.diagnostics
            .iter()
            .map(|d| {
                let file = self.file.display();
                let loc = match d.pos {
                    Some(p) => format!("{file}:{}:{}", p.line, p.column),
                    None => format!("{file}"),
                };
                if d.path.is_empty() {
                    format!("{loc}: {}", d.message)
                } else {
                    format!("{loc}: {}: {}", d.path, d.message)
                }
            })
            .collect()
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source_lines: Vec<&str> = self.source.lines().collect();
        for (diag, line) in self.diagnostics.iter().zip(self.lines()) {
            writeln!(f, "error: {line}")?;
            if let Some(pos) = diag.pos
                && let Some(text) = source_lines.get(pos.line.saturating_sub(1) as usize)
            {
                let gutter = pos.line.to_string();
                writeln!(f, "{:width$} |", "", width = gutter.len())?;
                writeln!(f, "{gutter} | {text}")?;
                let pad: String = text
                    .chars()
                    .take(pos.column.saturating_sub(1) as usize)
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                writeln!(f, "{:width$} | {pad}^", "", width = gutter.len())?;
            }
        }
        let n = self.diagnostics.len();
        write!(
            f,
            "{} problem{} in {}",
            n,
            if n == 1 { "" } else { "s" },
            self.file.display()
        )
    }
}

impl std::error::Error for SpecErrors {}

/// Collects diagnostics while a file is checked, and the programs it names,
/// which are checked later and only where runs start.
#[derive(Debug, Default)]
pub struct Sink {
    pub diagnostics: Vec<Diagnostic>,
    pub programs: Vec<crate::experiment::ProgramDecl>,
}

impl Sink {
    pub fn error(&mut self, pos: Pos, path: impl Into<String>, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic {
            pos: Some(pos),
            path: path.into(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.diagnostics.is_empty()
    }
}

/// "did you mean `x`?" for a misspelt key or name, when one is close.
pub fn suggestion<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let best = candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(given, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, c)) => format!("; did you mean `{c}`?"),
        None => String::new(),
    }
}
