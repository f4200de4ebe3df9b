//! `history.csv`: one row per epoch, the source of `final_*` and `best_*`
//! metrics. Empty cells (an AUC that was undefined that epoch) are `None`.

use std::path::Path;

use sweep_core::store::HISTORY_FILE;

/// A run's per-epoch history, column by column.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct History {
    columns: Vec<(String, Vec<Option<f64>>)>,
}

impl History {
    /// Parses CSV text with a header row.
    pub(crate) fn parse(text: &[u8]) -> Result<History, String> {
        let mut reader = csv::Reader::from_reader(text);
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| e.to_string())?
            .iter()
            .map(str::to_string)
            .collect();
        let mut columns: Vec<(String, Vec<Option<f64>>)> =
            header.into_iter().map(|h| (h, Vec::new())).collect();
        for (line, record) in reader.records().enumerate() {
            let record = record.map_err(|e| e.to_string())?;
            for (i, (name, values)) in columns.iter_mut().enumerate() {
                let cell = record.get(i).unwrap_or("").trim();
                let value = if cell.is_empty() {
                    None
                } else {
                    Some(cell.parse::<f64>().map_err(|_| {
                        format!(
                            "row {}: `{cell}` in column {name} is not a number",
                            line + 2
                        )
                    })?)
                };
                values.push(value);
            }
        }
        Ok(History { columns })
    }

    /// Reads `history.csv` from a run folder.
    pub(crate) fn read(dir: &Path) -> Result<History, String> {
        let bytes = sweep_core::store::Store::read_verified(dir, HISTORY_FILE)
            .map_err(|e| e.to_string())?;
        History::parse(&bytes)
    }

    /// Every column with its values, in file order.
    pub(crate) fn columns(&self) -> &[(String, Vec<Option<f64>>)] {
        &self.columns
    }

    fn column(&self, name: &str) -> Option<&[Option<f64>]> {
        self.columns
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// The last epoch's value.
    pub(crate) fn last(&self, name: &str) -> Option<f64> {
        self.column(name)?.last().copied().flatten()
    }

    pub(crate) fn min(&self, name: &str) -> Option<f64> {
        self.column(name)?
            .iter()
            .flatten()
            .copied()
            .reduce(f64::min)
    }

    pub(crate) fn max(&self, name: &str) -> Option<f64> {
        self.column(name)?
            .iter()
            .flatten()
            .copied()
            .reduce(f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_trainer_layout_with_empty_cells() {
        let text = b"epoch,lr,val_loss,val_auc\n1,0.001,0.7,\n2,0.001,0.5,0.61\n3,0.001,0.6,0.58\n";
        let h = History::parse(text).unwrap();
        assert_eq!(h.last("val_loss"), Some(0.6));
        assert_eq!(h.min("val_loss"), Some(0.5));
        assert_eq!(h.max("val_auc"), Some(0.61));
        assert_eq!(h.last("nope"), None);
        let bad = History::parse(b"epoch,val_loss\n1,abc\n").unwrap_err();
        assert!(bad.contains("not a number"), "{bad}");
    }
}
