//! End-to-end checks of every figure: each test writes a real file into a
//! temporary folder and reads it back — SVG as markup (titles, legend names,
//! how many cells and lines), PNG by its header and decoded pixels.

#![allow(
    clippy::unwrap_used,
    reason = "a test panics on an unexpected error, which fails it with the message"
)]

mod bars;
mod confusion;
mod learning_curves;
mod output;
mod png_file;
mod roc;
mod svg_doc;
