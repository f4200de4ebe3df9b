//! The terminal table (`tabled`): caption above, notes below, numbers
//! right-aligned; with colour on, the best value per column in bold green.

use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::{Alignment, Style};

use crate::document::{Align, Doc};

const BEST_ON: &str = "\x1b[1;32m";
const BEST_OFF: &str = "\x1b[0m";

pub(super) fn render(doc: &Doc, color: bool) -> String {
    let mut out = String::new();
    if let Some(t) = &doc.title {
        out.push_str(&format!("{t}\n"));
    }
    if let Some(c) = &doc.caption {
        out.push_str(&format!("{c}\n"));
    }
    for s in &doc.sections {
        if let Some(t) = &s.title {
            out.push_str(&format!("\n{t}\n"));
        }
        let mut b = Builder::default();
        b.push_record(s.header.iter().cloned());
        for cells in &s.rows {
            b.push_record(cells.iter().map(|c| {
                if c.best && color {
                    format!("{BEST_ON}{}{BEST_OFF}", c.text)
                } else {
                    c.text.clone()
                }
            }));
        }
        let mut table = b.build();
        table.with(Style::sharp());
        for (i, a) in s.align.iter().enumerate() {
            if *a == Align::Right {
                table.modify(Columns::one(i), Alignment::right());
            }
        }
        out.push_str(&table.to_string());
        out.push('\n');
    }
    for (i, n) in doc.notes.iter().enumerate() {
        out.push_str(&format!("{}. {n}\n", i + 1));
    }
    out
}
