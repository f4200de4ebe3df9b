//! The HTML page itself: one self-contained document (inline style and
//! script, figures referred to by relative paths) that opens from disk
//! without a network. Every piece of text is escaped here, at the point
//! where it becomes markup.

use std::collections::BTreeMap;

use sweep_metrics::TaskKind;

use crate::aggregate::Stat;
use crate::columns::Unit;
use crate::document::{Align, Cell, Doc, Section};
use crate::format::{ColumnFormat, stat_cell};
use crate::html::ExperimentSource;
use crate::html::escape::escape;
use crate::html::figures::{AllFigures, CURVE_METRICS, DatasetFigures, Drawn};
use crate::html::per_label::{PER_LABEL_METRICS, PerLabelTable};
use crate::html::runs::RowData;
use crate::report_table::Report;

/// Everything the page shows.
pub(crate) struct Page<'a> {
    pub title: &'a str,
    pub report: &'a Report,
    /// The comparison table as the text formats lay it out.
    pub doc: &'a Doc,
    pub rows: &'a [RowData],
    pub figures: &'a AllFigures,
    pub experiments: &'a [ExperimentSource],
    pub decimals: usize,
}

const STYLE: &str = r#"
:root { color-scheme: light; }
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #212121;
  margin: 0 auto; padding: 1.5rem 2rem 4rem; max-width: 1400px; line-height: 1.45; background: #fff; }
h1 { font-size: 1.7rem; margin: 0 0 .3rem; }
h2 { font-size: 1.35rem; margin: 2.4rem 0 .8rem; padding-bottom: .25rem; border-bottom: 2px solid #d0d7de; }
h3 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; }
p.meta { color: #555; margin: .2rem 0; }
nav { margin: .8rem 0 0; font-size: .95rem; }
nav a { margin-right: 1.1rem; color: #0b5cad; text-decoration: none; }
nav a:hover { text-decoration: underline; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: .9rem; margin: .4rem 0 .8rem; }
caption { caption-side: top; text-align: left; font-style: italic; color: #444; padding: 0 0 .4rem; }
th, td { padding: .3rem .65rem; border-bottom: 1px solid #e1e4e8; vertical-align: top; }
thead th { border-bottom: 2px solid #6a737d; background: #f6f8fa; white-space: nowrap; }
td.r, th.r { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.l, th.l { text-align: left; }
td strong { font-weight: 700; }
tr.partial td { background: #fff8e1; }
tr.empty td { background: #fdecea; color: #8a1c12; }
ol.notes { font-size: .85rem; color: #444; padding-left: 1.6rem; }
.figs { display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 1.2rem; align-items: start; }
figure { margin: 0; }
figure.wide { grid-column: 1 / -1; }
figure.double { grid-column: span 2; }
@media (max-width: 900px) { figure.double { grid-column: 1 / -1; } }
figure img { width: 100%; height: auto; border: 1px solid #e1e4e8; background: #fff; }
figure.wide img { max-width: 1200px; }
figure.double img { max-width: 800px; }
figcaption { font-size: .85rem; color: #444; margin-top: .3rem; }
p.missing { color: #8a1c12; background: #fdecea; border-left: 4px solid #d73a49; padding: .4rem .7rem; margin: .4rem 0; }
.status { font-weight: 600; }
.status.failed, .status.unreadable { color: #b31d28; }
.status.pending, .status.stale, .status.no-data { color: #8a6100; }
tr.differs td { background: #fff8e1; }
table.failures td.nowrap { white-space: nowrap; }
pre.experiment { background: #f6f8fa; border: 1px solid #e1e4e8; padding: .8rem 1rem; overflow-x: auto;
  font-size: .85rem; line-height: 1.35; }
code, pre { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; }
"#;

/// Counts the images that loaded, so a headless browser can check the page.
const IMAGE_CHECK: &str = r#"
window.addEventListener("load", function () {
  var images = document.images, ok = 0;
  for (var i = 0; i < images.length; i++) {
    if (images[i].complete && images[i].naturalWidth > 0) { ok++; }
  }
  document.body.dataset.imagesOk = String(ok);
  document.body.dataset.imagesTotal = String(images.length);
});
"#;

pub(crate) fn render(page: &Page<'_>) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(&format!("<title>{}</title>\n", escape(page.title)));
    out.push_str(&format!("<style>{STYLE}</style>\n</head>\n<body>\n"));
    header(&mut out, page);
    out.push_str("<main>\n");
    comparison(&mut out, page);
    datasets(&mut out, page);
    curves(&mut out, page);
    failures(&mut out, page.report);
    versions(&mut out, page.rows);
    experiments(&mut out, page.experiments);
    out.push_str("</main>\n");
    out.push_str(&format!(
        "<script>{IMAGE_CHECK}</script>\n</body>\n</html>\n"
    ));
    out
}

fn header(out: &mut String, page: &Page<'_>) {
    let r = page.report;
    let missing = r.runs_selected - r.runs_loaded;
    out.push_str(&format!(
        "<header>\n<h1>{}</h1>\n<p class=\"meta\">{} planned run{}, {} with results",
        escape(page.title),
        r.runs_selected,
        if r.runs_selected == 1 { "" } else { "s" },
        r.runs_loaded
    ));
    if missing > 0 {
        out.push_str(&format!(
            ", <a href=\"#failures\">{missing} without results</a> (partial sweep)"
        ));
    }
    out.push_str(".</p>\n");
    if !r.filters.is_empty() {
        out.push_str(&format!(
            "<p class=\"meta\">Runs selected with <code>--where {}</code>.</p>\n",
            escape(&r.filters.join(" "))
        ));
    }
    out.push_str(&format!(
        "<p class=\"meta\">Written by sweep-report {} from the results folder; figures are SVG \
         files in <code>figures/</code>.</p>\n",
        env!("CARGO_PKG_VERSION")
    ));
    out.push_str(
        "<nav><a href=\"#table\">Comparison table</a><a href=\"#datasets\">Test set</a>\
         <a href=\"#curves\">Learning curves</a><a href=\"#failures\">Missing and failed runs</a>\
         <a href=\"#versions\">Library versions</a><a href=\"#experiments\">Experiment files</a></nav>\n\
         </header>\n",
    );
}

fn comparison(out: &mut String, page: &Page<'_>) {
    out.push_str("<section id=\"table\">\n<h2>Comparison table</h2>\n");
    let row_class: Vec<&str> = page
        .report
        .rows
        .iter()
        .map(|r| match (r.runs_loaded, r.runs_planned) {
            (0, _) => "empty",
            (l, p) if l < p => "partial",
            _ => "",
        })
        .collect();
    out.push_str(&doc_tables(page.doc, &row_class));
    out.push_str("</section>\n");
}

/// The tables of `doc` as HTML: the caption on the first table, the best
/// value per column bold, the footnotes as a numbered list. `row_class`
/// marks rows of the first table (partial or empty rows).
pub(crate) fn doc_tables(doc: &Doc, row_class: &[&str]) -> String {
    let mut out = String::new();
    for (s, section) in doc.sections.iter().enumerate() {
        if let Some(t) = &section.title {
            out.push_str(&format!("<h3>{}</h3>\n", escape(t)));
        }
        let caption = if s == 0 { doc.caption.as_deref() } else { None };
        let classes = if s == 0 { row_class } else { &[] };
        out.push_str(&table(section, caption, classes));
    }
    if !doc.notes.is_empty() {
        out.push_str("<ol class=\"notes\">\n");
        for n in &doc.notes {
            out.push_str(&format!("<li>{}</li>\n", escape(n)));
        }
        out.push_str("</ol>\n");
    }
    out
}

fn align_class(a: Option<&Align>) -> &'static str {
    match a {
        Some(Align::Right) => "r",
        _ => "l",
    }
}

fn table(section: &Section, caption: Option<&str>, row_class: &[&str]) -> String {
    let mut out = String::from("<div class=\"table-wrap\"><table>\n");
    if let Some(c) = caption {
        out.push_str(&format!("<caption>{}</caption>\n", escape(c)));
    }
    out.push_str("<thead><tr>");
    for (i, h) in section.header.iter().enumerate() {
        out.push_str(&format!(
            "<th class=\"{}\" scope=\"col\">{}</th>",
            align_class(section.align.get(i)),
            escape(h)
        ));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (r, cells) in section.rows.iter().enumerate() {
        match row_class.get(r).filter(|c| !c.is_empty()) {
            Some(c) => out.push_str(&format!("<tr class=\"{c}\">")),
            None => out.push_str("<tr>"),
        }
        for (i, cell) in cells.iter().enumerate() {
            let text = escape(&cell.text);
            let text = if cell.best {
                format!("<strong>{text}</strong>")
            } else {
                text
            };
            out.push_str(&format!(
                "<td class=\"{}\">{text}</td>",
                align_class(section.align.get(i))
            ));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
    out
}

/// How much of a figure grid's row a figure takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    One,
    /// Two columns: a k×k matrix whose class names need room.
    Two,
    /// The whole row: the grid of per-label matrices.
    All,
}

fn figure(out: &mut String, drawn: &Drawn, span: Span) {
    let class = match span {
        Span::One => "",
        Span::Two => " class=\"double\"",
        Span::All => " class=\"wide\"",
    };
    match drawn {
        Ok(f) => out.push_str(&format!(
            "<figure{class}><img src=\"{}\" alt=\"{}\"><figcaption>{}</figcaption></figure>\n",
            escape(&f.src),
            escape(&f.alt),
            escape(&f.caption)
        )),
        Err(why) => out.push_str(&format!("<p class=\"missing\">{}</p>\n", escape(why))),
    }
}

fn score(stat: &Stat, decimals: usize) -> String {
    stat_cell(
        stat,
        ColumnFormat::of_column(Unit::Score, decimals, &[]),
        stat.n > 1,
        stat.n,
    )
}

fn task_name(task: Option<TaskKind>) -> String {
    task.map_or_else(|| "task unknown".to_string(), |t| format!("{t} task"))
}

fn datasets(out: &mut String, page: &Page<'_>) {
    out.push_str(
        "<section id=\"datasets\">\n<h2>Test set: main metric, best configuration, ROC</h2>\n",
    );
    if page.figures.datasets.is_empty() {
        out.push_str("<p class=\"missing\">No row belongs to a single dataset.</p>\n");
    }
    for d in &page.figures.datasets {
        dataset(out, page, d);
    }
    for n in &page.figures.notes {
        out.push_str(&format!("<p class=\"missing\">{}</p>\n", escape(n)));
    }
    out.push_str("</section>\n");
}

fn dataset(out: &mut String, page: &Page<'_>, d: &DatasetFigures) {
    out.push_str(&format!(
        "<h3>{} <small>({})</small></h3>\n",
        escape(&d.dataset),
        escape(&task_name(d.task))
    ));
    match &d.best {
        Ok(b) => {
            let n = b.val_auc.n;
            out.push_str(&format!(
                "<p>Best configuration by mean validation AUC: <strong>{}</strong> \
                 (validation AUC {}, {n} run{}).</p>\n",
                escape(&page.rows[b.row].label),
                escape(&score(&b.val_auc, page.decimals)),
                if n == 1 { "" } else { "s" }
            ));
        }
        Err(why) => out.push_str(&format!(
            "<p class=\"missing\">No best configuration: {}.</p>\n",
            escape(why)
        )),
    }
    out.push_str("<div class=\"figs\">\n");
    figure(out, &d.bars, Span::One);
    figure(out, &d.roc, Span::One);
    if let Ok(b) = &d.best {
        let span = match d.task {
            Some(TaskKind::MultiLabel) => Span::All,
            Some(TaskKind::MultiClass) => Span::Two,
            _ => Span::One,
        };
        figure(out, &b.confusion, span);
    }
    figure(out, &d.prevalence, Span::One);
    out.push_str("</div>\n");
    match &d.per_label {
        Ok(t) => per_label_tables(out, t, page.rows, page.decimals),
        Err(why) => out.push_str(&format!(
            "<p class=\"missing\">No per-label validation table: {}.</p>\n",
            escape(why)
        )),
    }
}

/// The validation accuracy, sensitivity, specificity and AUC of every label
/// (rows) for every configuration (columns), one table per metric; the best
/// configuration of each label in bold.
fn per_label_tables(out: &mut String, t: &PerLabelTable, rows: &[RowData], decimals: usize) {
    out.push_str("<h4>Validation metrics per label</h4>\n");
    out.push_str(
        "<p class=\"meta\">Each label (or class, one-vs-rest) on the validation split, per \
         configuration: mean ± sample standard deviation over its runs, the highest in bold; \
         a dash where a label's AUC is undefined (one class only). The same numbers for one configuration: \
         <code>sweep report --per-class --split val --where …</code>.</p>\n",
    );
    let mut header = vec!["label".to_string()];
    header.extend(t.configurations.iter().map(|&i| rows[i].short.clone()));
    let mut align = vec![Align::Left];
    align.extend(t.configurations.iter().map(|_| Align::Right));
    for (metric, name) in PER_LABEL_METRICS.iter().enumerate() {
        let rows = t
            .names
            .iter()
            .enumerate()
            .map(|(label, label_name)| {
                let stats = &t.values[metric][label];
                let best = stats
                    .iter()
                    .filter_map(|s| s.mean)
                    .fold(f64::NEG_INFINITY, f64::max);
                let mut cells = vec![Cell::plain(label_name.clone())];
                cells.extend(stats.iter().map(|s| Cell {
                    text: score(s, decimals),
                    best: stats.len() > 1 && s.mean == Some(best),
                }));
                cells
            })
            .collect();
        let section = Section {
            title: None,
            header: header.clone(),
            align: align.clone(),
            rows,
        };
        out.push_str(&table(
            &section,
            Some(&format!("Validation {name} per label")),
            &[],
        ));
    }
    if !t.left_out.is_empty() {
        out.push_str(&format!(
            "<p class=\"missing\">Not in the per-label tables: {}.</p>\n",
            escape(&t.left_out.join("; "))
        ));
    }
}

fn curves(out: &mut String, page: &Page<'_>) {
    out.push_str("<section id=\"curves\">\n<h2>Learning curves</h2>\n");
    let names: Vec<&str> = CURVE_METRICS.iter().map(|(_, l)| *l).collect();
    out.push_str(&format!(
        "<p class=\"meta\">Per configuration: {} per epoch from <code>history.csv</code>, \
         training dashed and validation solid; the line is the mean over the configuration's \
         runs (folds, seeds), the shaded band their minimum to maximum.</p>\n",
        escape(&names.join(", "))
    ));
    for c in &page.figures.curves {
        out.push_str(&format!("<h3>{}</h3>\n", escape(&page.rows[c.row].label)));
        match &c.figures {
            Ok(figures) => {
                out.push_str("<div class=\"figs\">\n");
                for f in figures {
                    figure(out, f, Span::One);
                }
                out.push_str("</div>\n");
            }
            Err(why) => out.push_str(&format!("<p class=\"missing\">{}</p>\n", escape(why))),
        }
    }
    out.push_str("</section>\n");
}

fn failures(out: &mut String, report: &Report) {
    out.push_str("<section id=\"failures\">\n<h2>Missing and failed runs</h2>\n");
    let missing: Vec<(usize, &crate::report_table::RunEntry)> = report
        .rows
        .iter()
        .enumerate()
        .flat_map(|(i, r)| r.runs.iter().filter(|e| !e.is_done()).map(move |e| (i, e)))
        .collect();
    if missing.is_empty() {
        out.push_str(&format!(
            "<p>None: all {} planned runs have results.</p>\n</section>\n",
            report.runs_selected
        ));
        return;
    }
    out.push_str(&format!(
        "<p>{} of {} planned runs have no results; their rows are marked in the table and \
         their numbers are left out of every mean and figure.</p>\n",
        missing.len(),
        report.runs_selected
    ));
    out.push_str(
        "<div class=\"table-wrap\"><table class=\"failures\">\n<thead><tr>\
         <th class=\"l\" scope=\"col\">configuration</th><th class=\"l\" scope=\"col\">run</th>\
         <th class=\"l\" scope=\"col\">status</th><th class=\"l\" scope=\"col\">reason</th>\
         <th class=\"l\" scope=\"col\">key</th></tr></thead>\n<tbody>\n",
    );
    for (i, e) in missing {
        let key = e.key.as_deref().map_or("—", |k| &k[..k.len().min(12)]);
        out.push_str(&format!(
            "<tr><td class=\"l\">{}</td><td class=\"l nowrap\">{}</td>\
             <td class=\"l\"><span class=\"status {}\">{}</span></td><td class=\"l\">{}</td>\
             <td class=\"l nowrap\"><code>{}</code></td></tr>\n",
            escape(&report.row_label(i)),
            escape(if e.label.is_empty() { "run" } else { &e.label }),
            escape(&e.status),
            escape(&e.status),
            escape(e.reason.as_deref().unwrap_or("")),
            escape(key)
        ));
    }
    out.push_str("</tbody>\n</table></div>\n</section>\n");
}

fn versions(out: &mut String, rows: &[RowData]) {
    out.push_str("<section id=\"versions\">\n<h2>Library versions</h2>\n");
    let mut seen: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    let mut runs = 0;
    for run in rows.iter().flat_map(|r| &r.runs) {
        if run.versions.is_empty() {
            continue;
        }
        runs += 1;
        for (lib, version) in &run.versions {
            *seen.entry(lib).or_default().entry(version).or_default() += 1;
        }
    }
    if seen.is_empty() {
        out.push_str(
            "<p class=\"missing\">No finished run records its library versions.</p>\n</section>\n",
        );
        return;
    }
    out.push_str(&format!(
        "<p>As recorded in <code>metrics.json</code> by the {runs} finished run{} that trained \
         these results.</p>\n",
        if runs == 1 { "" } else { "s" }
    ));
    out.push_str(
        "<div class=\"table-wrap\"><table class=\"versions\">\n<thead><tr>\
         <th class=\"l\" scope=\"col\">library</th><th class=\"l\" scope=\"col\">version</th>\
         <th class=\"r\" scope=\"col\">runs</th></tr></thead>\n<tbody>\n",
    );
    let mut differs = Vec::new();
    for (lib, versions) in &seen {
        if versions.len() > 1 {
            differs.push(*lib);
        }
        for (version, count) in versions {
            out.push_str(&format!(
                "<tr{}><td class=\"l\">{}</td><td class=\"l\"><code>{}</code></td>\
                 <td class=\"r\">{count}</td></tr>\n",
                if versions.len() > 1 {
                    " class=\"differs\""
                } else {
                    ""
                },
                escape(lib),
                escape(version)
            ));
        }
    }
    out.push_str("</tbody>\n</table></div>\n");
    if !differs.is_empty() {
        out.push_str(&format!(
            "<p class=\"missing\">Runs were trained with different versions of {}.</p>\n",
            escape(&differs.join(", "))
        ));
    }
    out.push_str("</section>\n");
}

fn experiments(out: &mut String, files: &[ExperimentSource]) {
    out.push_str("<section id=\"experiments\">\n<h2>Experiment files</h2>\n");
    if files.is_empty() {
        out.push_str("<p class=\"missing\">No experiment file was given to the report.</p>\n");
    }
    for f in files {
        out.push_str(&format!(
            "<h3><code>{}</code></h3>\n<pre class=\"experiment\">{}</pre>\n",
            escape(&f.name),
            escape(&f.text)
        ));
    }
    out.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Cell;

    #[test]
    fn tables_escape_text_and_bold_the_best_cells() {
        let doc = Doc {
            title: None,
            caption: Some("dataset = <x> & y".into()),
            sections: vec![Section {
                title: None,
                header: vec!["lr".into(), "n".into(), "Val AUC".into()],
                align: vec![Align::Left, Align::Right, Align::Right],
                rows: vec![
                    vec![
                        Cell::plain("0.001"),
                        Cell::plain("2"),
                        Cell {
                            text: "0.81 ± 0.01".into(),
                            best: true,
                        },
                    ],
                    vec![
                        Cell::plain("0.1"),
                        Cell::plain("1/2"),
                        Cell::plain("0.60 ± —"),
                    ],
                ],
            }],
            notes: vec!["lr = 0.1: fold 2: failed (loss <NaN>).".into()],
        };
        let html = doc_tables(&doc, &["", "partial"]);
        assert!(
            html.contains("<caption>dataset = &lt;x&gt; &amp; y</caption>"),
            "{html}"
        );
        assert!(
            html.contains("<td class=\"r\"><strong>0.81 ± 0.01</strong></td>"),
            "{html}"
        );
        assert!(
            html.contains("<tr class=\"partial\"><td class=\"l\">0.1</td>"),
            "{html}"
        );
        assert!(
            html.contains("<th class=\"r\" scope=\"col\">Val AUC</th>"),
            "{html}"
        );
        assert!(
            html.contains("<li>lr = 0.1: fold 2: failed (loss &lt;NaN&gt;).</li>"),
            "{html}"
        );
        assert!(!html.contains("<NaN>") && !html.contains("<x>"));
    }

    #[test]
    fn per_label_tables_have_a_column_per_configuration_and_bold_the_best() {
        use crate::aggregate::summarize;
        let row = |short: &str| RowData {
            label: short.into(),
            short: short.into(),
            dataset: Some("x".into()),
            runs: Vec::new(),
        };
        let rows = [row("lr = 0.001"), row("lr = <0.1>")];
        let stat = |v: &[f64]| summarize(v);
        // One label; per metric: configuration 0 then 1.
        let values = (0..4)
            .map(|m| vec![vec![stat(&[0.5 + m as f64 / 10.0]), stat(&[0.6, 0.8])]])
            .collect();
        let t = PerLabelTable {
            names: vec!["effusion".into()],
            configurations: vec![0, 1],
            values,
            left_out: vec!["lr = 1 (no validation summary)".into()],
        };
        let mut out = String::new();
        per_label_tables(&mut out, &t, &rows, 2);
        assert!(
            out.contains("<th class=\"r\" scope=\"col\">lr = &lt;0.1&gt;</th>"),
            "{out}"
        );
        for name in ["accuracy", "sensitivity", "specificity", "AUC"] {
            assert!(
                out.contains(&format!("<caption>Validation {name} per label</caption>")),
                "{out}"
            );
        }
        // Accuracy: 0.50 against 0.70 ± 0.14; AUC: 0.80 against 0.70.
        assert!(
            out.contains("<td class=\"l\">effusion</td><td class=\"r\">0.50</td><td class=\"r\"><strong>0.70 ± 0.14"),
            "{out}"
        );
        assert!(
            out.contains("<td class=\"r\"><strong>0.80</strong></td><td class=\"r\">0.70 ± 0.14"),
            "{out}"
        );
        assert!(out.contains("Not in the per-label tables: lr = 1 (no validation summary)."));
    }

    #[test]
    fn figures_and_their_absence_are_both_shown() {
        let mut out = String::new();
        figure(
            &mut out,
            &Ok(crate::html::figures::Figure {
                src: "figures/roc-1.svg".into(),
                alt: "ROC \"curves\"".into(),
                caption: "a < b".into(),
            }),
            Span::All,
        );
        figure(
            &mut out,
            &Err("no finished run (2 failed)".into()),
            Span::One,
        );
        assert_eq!(
            out,
            "<figure class=\"wide\"><img src=\"figures/roc-1.svg\" alt=\"ROC &quot;curves&quot;\">\
             <figcaption>a &lt; b</figcaption></figure>\n\
             <p class=\"missing\">no finished run (2 failed)</p>\n"
        );
    }
}
