//! The layout every text format shares: a caption, tables of cells, notes.
//!
//! Reports are turned into this once; the terminal, Markdown and LaTeX
//! renderers only decide how a cell, a highlight or a note is written.

/// A rendered-to-be document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Doc {
    pub title: Option<String>,
    /// One line under the title: the fields shared by every row.
    pub caption: Option<String>,
    pub sections: Vec<Section>,
    /// Footnotes after the last table.
    pub notes: Vec<String>,
}

/// One table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Section {
    pub title: Option<String>,
    pub header: Vec<String>,
    pub align: Vec<Align>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// One cell: its text (with "±" and "—" as Unicode) and whether it is the
/// best value of its column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    pub text: String,
    pub best: bool,
}

impl Cell {
    pub fn plain(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            best: false,
        }
    }
}

/// A CSV table: a header and rows of raw values.
pub(crate) type Records = Vec<Vec<String>>;

/// A number for CSV: shortest round-trip form, empty when absent.
pub(crate) fn csv_number(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite())
        .map_or(String::new(), |x| x.to_string())
}
