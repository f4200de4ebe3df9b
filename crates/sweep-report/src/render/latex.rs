//! LaTeX: a `table` environment with a `booktabs` tabular (`\toprule`,
//! `\midrule`, `\bottomrule`), the caption in `\caption`, notes in a
//! footnote-size paragraph below, the best value per column in bold.
//!
//! A table wider than the text (the default report has a dozen columns) is
//! scaled down to `\linewidth` with graphicx's `\resizebox`; one that fits
//! keeps its natural size, as the width argument is
//! `\ifdim\width>\linewidth\linewidth\else\width\fi`. Scaling was chosen
//! over `tabularx` (which would wrap the numbers) and `adjustbox` (which is
//! not in a minimal TeX installation): it keeps every cell on one line and
//! needs only `graphicx`, which every TeX distribution has.
//!
//! Needs `\usepackage{booktabs}` and `\usepackage{graphicx}`. Text is
//! escaped so that field values such as `chest_cnn`, `100%` or `{a: 1}`
//! compile; "±", "—", "Δ", "−" and "×" become their LaTeX spellings.

use crate::document::{Align, Doc};

/// Escapes LaTeX's special characters in text mode.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        // A minus sign before a number ("-0.0128", "(-3)"), not a hyphen in "0-1".
        let before_ok = i == 0 || matches!(chars[i - 1], ' ' | '(' | '[');
        let is_minus = c == '-' && before_ok && chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if is_minus {
            out.push_str("$-$");
            continue;
        }
        match c {
            '\\' => out.push_str(r"\textbackslash{}"),
            '_' | '%' | '&' | '#' | '$' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '~' => out.push_str(r"\textasciitilde{}"),
            '^' => out.push_str(r"\textasciicircum{}"),
            '<' => out.push_str(r"\textless{}"),
            '>' => out.push_str(r"\textgreater{}"),
            '±' => out.push_str(r"$\pm$"),
            '—' => out.push_str("---"),
            '–' => out.push_str("--"),
            '−' => out.push_str("$-$"),
            'Δ' => out.push_str(r"$\Delta$"),
            '×' => out.push_str(r"$\times$"),
            _ => out.push(c),
        }
    }
    out
}

pub(super) fn render(doc: &Doc) -> String {
    let mut out = String::from(
        "% requires \\usepackage{booktabs} and \\usepackage{graphicx}\n\\begin{table}[htbp]\n  \\centering\n",
    );
    let title = match (&doc.title, &doc.caption) {
        (Some(t), Some(c)) => Some(format!("{}. {}", escape(t), escape(c))),
        (Some(t), None) => Some(escape(t)),
        (None, Some(c)) => Some(escape(c)),
        (None, None) => None,
    };
    if let Some(t) = title {
        out.push_str(&format!("  \\caption{{{t}}}\n"));
    }
    for (k, s) in doc.sections.iter().enumerate() {
        if k > 0 {
            out.push_str("  \\medskip\n");
        }
        if let Some(t) = &s.title {
            out.push_str(&format!(
                "  \\par\\textit{{{}}}\\par\\smallskip\n",
                escape(t)
            ));
        }
        let spec: String = s
            .align
            .iter()
            .map(|a| if *a == Align::Left { 'l' } else { 'r' })
            .collect();
        // Shrunk to the text width when wider, else at its natural size.
        out.push_str(
            "  \\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%\n",
        );
        out.push_str(&format!("  \\begin{{tabular}}{{{spec}}}\n    \\toprule\n"));
        let header: Vec<String> = s.header.iter().map(|h| escape(h)).collect();
        out.push_str(&format!("    {} \\\\\n    \\midrule\n", header.join(" & ")));
        for cells in &s.rows {
            let cells: Vec<String> = cells
                .iter()
                .map(|c| {
                    let t = escape(&c.text);
                    if c.best {
                        format!("\\textbf{{{t}}}")
                    } else {
                        t
                    }
                })
                .collect();
            out.push_str(&format!("    {} \\\\\n", cells.join(" & ")));
        }
        out.push_str("    \\bottomrule\n  \\end{tabular}}\n");
    }
    if !doc.notes.is_empty() {
        out.push_str("  \\par\\smallskip\\footnotesize\n");
        for (i, n) in doc.notes.iter().enumerate() {
            out.push_str(&format!("  {}.~{}\\par\n", i + 1, escape(n)));
        }
    }
    out.push_str("\\end{table}\n");
    out
}
