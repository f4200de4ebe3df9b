//! What the caller asks for: `--metrics`, `--group-by`, `--where`,
//! `--baseline`, the output format and how numbers are printed.
//!
//! These are plain values with `FromStr` where a command line needs one, so
//! the CLI can hand them over unchanged.

use std::str::FromStr;

use sweep_core::select::FieldCondition;

/// What goes into a comparison table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportOptions {
    /// Metric names (see [`crate::metric_names`]); empty = the default set,
    /// which mirrors a typical architecture-comparison table.
    pub metrics: Vec<String>,
    /// Fields whose values define the rows; empty = every field except
    /// `fold` and `seed`, so folds and seeds are aggregated.
    pub group_by: Vec<String>,
    /// Keep only runs matching every field (repeating a field accepts any of
    /// its values; see [`sweep_core::select`]).
    pub filters: Vec<FieldCondition>,
    /// Fields picking the baseline row; empty = no comparison.
    pub baseline: Vec<FieldCondition>,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A box-drawn table for a terminal.
    Table,
    /// A GitHub-flavoured Markdown table.
    Markdown,
    /// One column per statistic, for pandas or a spreadsheet.
    Csv,
    /// A `booktabs` table environment.
    Latex,
    /// Every number, including per-run values.
    Json,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "table" | "terminal" | "text" => Format::Table,
            "md" | "markdown" => Format::Markdown,
            "csv" => Format::Csv,
            "latex" | "tex" => Format::Latex,
            "json" => Format::Json,
            _ => {
                return Err(format!(
                    "unknown format `{s}`; use table, md, csv, latex, json (or html with --out DIR)"
                ));
            }
        })
    }
}

/// Which runs a per-class or prevalence table describes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// As `--where`; for a per-class table they must leave one configuration.
    pub filters: Vec<FieldCondition>,
    /// A run key or a prefix of one (as `sweep plan` prints it).
    pub key: Option<String>,
}

/// How numbers and highlights are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    /// Decimals for scores and losses (mean and std alike).
    pub decimals: usize,
    /// ANSI colour for the best value per column (terminal table only).
    pub color: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            decimals: 4,
            color: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse() {
        assert_eq!("md".parse(), Ok(Format::Markdown));
        assert_eq!("LaTeX".parse(), Ok(Format::Latex));
        assert!("html".parse::<Format>().is_err());
    }
}
