//! `predictions.csv`: a run's test-set labels and scores, for DeLong's test.
//!
//! The trainer writes `index, y_0.., p_0..`: the labels as stored (one class
//! index for multi-class and binary tasks, one 0/1 column per label for
//! multi-label tasks) and one probability per model output.

use std::path::Path;

use sweep_core::store::PREDICTIONS_FILE;

/// Test-set labels and scores of one run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Predictions {
    pub n: usize,
    /// Label columns per sample (`y_*`).
    pub label_width: usize,
    /// Score columns per sample (`p_*`).
    pub outputs: usize,
    /// Row-major `n × label_width`.
    pub labels: Vec<u32>,
    /// Row-major `n × outputs`.
    pub scores: Vec<f64>,
}

impl Predictions {
    pub(crate) fn parse(text: &[u8]) -> Result<Predictions, String> {
        let mut reader = csv::Reader::from_reader(text);
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| e.to_string())?
            .iter()
            .map(str::to_string)
            .collect();
        let y_cols: Vec<usize> = (0..header.len())
            .filter(|&i| header[i].starts_with("y_"))
            .collect();
        let p_cols: Vec<usize> = (0..header.len())
            .filter(|&i| header[i].starts_with("p_"))
            .collect();
        if y_cols.is_empty() || p_cols.is_empty() {
            return Err("no y_* or p_* columns".into());
        }
        let mut labels = Vec::new();
        let mut scores = Vec::new();
        let mut n = 0;
        for record in reader.records() {
            let record = record.map_err(|e| e.to_string())?;
            let cell = |i: usize| record.get(i).unwrap_or("").trim().to_string();
            for &i in &y_cols {
                let c = cell(i);
                labels.push(
                    c.parse::<u32>()
                        .map_err(|_| format!("row {}: label `{c}` is not a class index", n + 2))?,
                );
            }
            for &i in &p_cols {
                let c = cell(i);
                scores.push(
                    c.parse::<f64>()
                        .map_err(|_| format!("row {}: score `{c}` is not a number", n + 2))?,
                );
            }
            n += 1;
        }
        if n == 0 {
            return Err("no samples".into());
        }
        Ok(Predictions {
            n,
            label_width: y_cols.len(),
            outputs: p_cols.len(),
            labels,
            scores,
        })
    }

    pub(crate) fn read(dir: &Path) -> Result<Predictions, String> {
        let bytes = sweep_core::store::Store::read_verified(dir, PREDICTIONS_FILE)
            .map_err(|e| e.to_string())?;
        Predictions::parse(&bytes).map_err(|e| format!("{PREDICTIONS_FILE}: {e}"))
    }

    /// Labels as an `n × outputs` 0/1 matrix aligned with the scores:
    /// one-hot rows for multi-class, as stored otherwise.
    pub(crate) fn indicators(&self) -> Result<Vec<u8>, String> {
        if self.label_width == self.outputs {
            return self
                .labels
                .iter()
                .map(|&v| u8::try_from(v).ok().filter(|&v| v <= 1))
                .collect::<Option<Vec<u8>>>()
                .ok_or_else(|| "labels are not 0/1".to_string());
        }
        if self.label_width == 1 {
            let mut out = vec![0u8; self.n * self.outputs];
            for (i, &c) in self.labels.iter().enumerate() {
                let c = c as usize;
                if c >= self.outputs {
                    return Err(format!("class {c} with {} outputs", self.outputs));
                }
                out[i * self.outputs + c] = 1;
            }
            return Ok(out);
        }
        Err(format!(
            "{} label columns for {} outputs",
            self.label_width, self.outputs
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_class_labels_become_one_hot() {
        let p = Predictions::parse(b"index,y_0,p_0,p_1,p_2\n0,2,0.1,0.2,0.7\n1,0,0.6,0.3,0.1\n")
            .unwrap();
        assert_eq!((p.n, p.label_width, p.outputs), (2, 1, 3));
        assert_eq!(p.indicators().unwrap(), vec![0, 0, 1, 1, 0, 0]);
    }

    #[test]
    fn binary_and_multi_label_keep_their_columns() {
        let b = Predictions::parse(b"index,y_0,p_0\n0,1,0.9\n1,0,0.2\n").unwrap();
        assert_eq!(b.indicators().unwrap(), vec![1, 0]);
        let m = Predictions::parse(b"index,y_0,y_1,p_0,p_1\n0,1,0,0.9,0.1\n").unwrap();
        assert_eq!(m.indicators().unwrap(), vec![1, 0]);
        assert!(Predictions::parse(b"index,y_0,p_0\n0,x,0.9\n").is_err());
        assert!(Predictions::parse(b"index,y_0,p_0\n").is_err());
    }
}
