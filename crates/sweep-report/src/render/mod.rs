//! Output formats. Every report type is laid out once as a [`Doc`] (and as
//! CSV records); each format then only decides how to write it.

mod csv;
mod json;
mod latex;
mod markdown;
mod terminal;

use serde::Serialize;

use crate::document::{Doc, Records};
use crate::query::{Format, RenderOptions};

pub(crate) mod sealed {
    use super::*;

    /// What a renderable report provides; implemented inside this crate only.
    pub trait Tabular: Serialize {
        fn doc(&self, options: &RenderOptions) -> Doc;
        fn records(&self) -> Records;
    }
}

/// A report that [`render`] can print: [`crate::Report`],
/// [`crate::PerClassReport`] and [`crate::PrevalenceReport`].
pub trait Renderable: sealed::Tabular {}

impl<T: sealed::Tabular> Renderable for T {}

/// Prints `item` in `format`.
pub fn render<T: Renderable>(item: &T, format: Format, options: &RenderOptions) -> String {
    match format {
        Format::Table => terminal::render(&item.doc(options), options.color),
        Format::Markdown => markdown::render(&item.doc(options)),
        Format::Latex => latex::render(&item.doc(options)),
        Format::Csv => csv::render(&item.records()),
        Format::Json => json::render(item),
    }
}
