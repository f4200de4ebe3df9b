//! Markdown: a GitHub-flavoured pipe table per section, the caption in
//! italics above and numbered notes below; the best value per column bold.

use crate::document::{Align, Doc};

/// Escapes characters that Markdown would read as syntax inside a cell.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '|' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub(super) fn render(doc: &Doc) -> String {
    let mut out = String::new();
    if let Some(t) = &doc.title {
        out.push_str(&format!("### {}\n\n", escape(t)));
    }
    if let Some(c) = &doc.caption {
        out.push_str(&format!("*{}*\n\n", escape(c)));
    }
    for s in &doc.sections {
        if let Some(t) = &s.title {
            out.push_str(&format!("**{}**\n\n", escape(t)));
        }
        let row = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
        out.push_str(&row(s.header.iter().map(|h| escape(h)).collect()));
        out.push_str(&row(s
            .align
            .iter()
            .map(|a| match a {
                Align::Left => ":---".to_string(),
                Align::Right => "---:".to_string(),
            })
            .collect()));
        for cells in &s.rows {
            out.push_str(&row(cells
                .iter()
                .map(|c| {
                    let t = escape(&c.text);
                    if c.best { format!("**{t}**") } else { t }
                })
                .collect()));
        }
        out.push('\n');
    }
    for (i, n) in doc.notes.iter().enumerate() {
        out.push_str(&format!("{}. {}\n", i + 1, escape(n)));
    }
    out
}
