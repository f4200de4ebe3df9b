//! Reading what a training command returns: one predictions file per split,
//! checked against the samples sweep gave it.
//!
//! The format is the one sweep's trainer writes (`index, y_0.., p_0..`):
//! one row per sample of the split, in the order of its indices, and one
//! score per model output. The `index` and `y_*` columns are optional; when
//! present they must agree with the split (an off-by-one or a shuffled file
//! is caught here, not in a table). Sweep keeps its own labels: the files
//! are rewritten with them, so a command cannot change the labels its
//! scores are judged against.

use std::path::Path;

/// Scores of one split, checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scores {
    /// Row-major `n × outputs`, each in [0, 1].
    pub probs: Vec<f64>,
}

/// What one split must look like.
pub(crate) struct Expected<'a> {
    /// `validation` or `test`, for messages.
    pub split: &'a str,
    pub dataset: &'a str,
    /// Label rows of the split's samples, in order (`n × label_width`).
    pub labels: &'a [u8],
    pub label_width: usize,
    pub outputs: usize,
}

impl Expected<'_> {
    fn n(&self) -> usize {
        self.labels.len() / self.label_width.max(1)
    }
}

/// Reads and checks `path`; every error names the file and what is wrong.
pub(crate) fn read(path: &Path, want: &Expected<'_>) -> Result<Scores, String> {
    let name = path.display();
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!(
            "{name} is missing: the command exited 0 without writing its {} predictions",
            want.split
        ),
        _ => format!("{name}: {e}"),
    })?;
    parse(&bytes, want).map_err(|why| format!("{name}: {why}"))
}

fn parse(bytes: &[u8], want: &Expected<'_>) -> Result<Scores, String> {
    let mut reader = csv::Reader::from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let column = |name: &str| header.iter().position(|h| h == name);
    let p_cols: Vec<usize> = (0..).map_while(|j| column(&format!("p_{j}"))).collect();
    let score_columns = header.iter().filter(|h| h.starts_with("p_")).count();
    if score_columns != p_cols.len() || p_cols.len() != want.outputs {
        return Err(format!(
            "{score_columns} score columns, but `{}` has {} output{} (p_0..p_{})",
            want.dataset,
            want.outputs,
            if want.outputs == 1 { "" } else { "s" },
            want.outputs - 1
        ));
    }
    let y_cols: Vec<usize> = (0..want.label_width)
        .map_while(|j| column(&format!("y_{j}")))
        .collect();
    let index_col = column("index");
    let mut probs = Vec::with_capacity(want.n() * want.outputs);
    let mut rows = 0usize;
    for record in reader.records() {
        let record = record.map_err(|e| e.to_string())?;
        let line = rows + 2;
        let cell = |i: usize| record.get(i).unwrap_or("").trim();
        if let Some(i) = index_col
            && cell(i) != rows.to_string()
        {
            return Err(format!(
                "line {line}: index `{}`, expected {rows} (one row per sample, in the order of the split's indices)",
                cell(i)
            ));
        }
        if rows < want.n() && y_cols.len() == want.label_width {
            let truth = &want.labels[rows * want.label_width..(rows + 1) * want.label_width];
            for (j, &c) in y_cols.iter().enumerate() {
                if cell(c) != truth[j].to_string() {
                    return Err(format!(
                        "line {line}: y_{j} is `{}` but sample {rows} of the {} split has label {}",
                        cell(c),
                        want.split,
                        truth[j]
                    ));
                }
            }
        }
        for (j, &c) in p_cols.iter().enumerate() {
            let p: f64 = cell(c)
                .parse()
                .map_err(|_| format!("line {line}: p_{j} `{}` is not a number", cell(c)))?;
            if !(0.0..=1.0).contains(&p) {
                return Err(format!(
                    "line {line}: p_{j} is {p}; scores are probabilities in [0, 1]"
                ));
            }
            probs.push(p);
        }
        rows += 1;
    }
    if rows != want.n() {
        return Err(format!(
            "{rows} rows, but the {} split has {} samples",
            want.split,
            want.n()
        ));
    }
    Ok(Scores { probs })
}

/// The file sweep keeps: `index, y_0.., p_0..` with sweep's own labels.
pub(crate) fn canonical(labels: &[u8], width: usize, probs: &[f64], outputs: usize) -> Vec<u8> {
    let mut out = String::from("index");
    for j in 0..width {
        out.push_str(&format!(",y_{j}"));
    }
    for j in 0..outputs {
        out.push_str(&format!(",p_{j}"));
    }
    out.push('\n');
    for (i, (y, p)) in labels
        .chunks(width.max(1))
        .zip(probs.chunks(outputs.max(1)))
        .enumerate()
    {
        out.push_str(&i.to_string());
        for v in y {
            out.push_str(&format!(",{v}"));
        }
        for v in p {
            out.push_str(&format!(",{v}"));
        }
        out.push('\n');
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(labels: &[u8]) -> Expected<'_> {
        Expected {
            split: "test",
            dataset: "breastmnist",
            labels,
            label_width: 1,
            outputs: 1,
        }
    }

    #[test]
    fn a_well_formed_file_reads_and_extra_columns_are_ignored() {
        let text = b"index,y_0,p_0,note\n0,1,0.9,a\n1,0,0.25,b\n";
        let scores = parse(text, &want(&[1, 0])).unwrap();
        assert_eq!(scores.probs, [0.9, 0.25]);
        assert_eq!(
            canonical(&[1, 0], 1, &scores.probs, 1),
            b"index,y_0,p_0\n0,1,0.9\n1,0,0.25\n"
        );
        // Only the scores are required.
        assert!(parse(b"p_0\n0.5\n0.5\n", &want(&[1, 0])).is_ok());
    }

    #[test]
    fn wrong_rows_classes_labels_and_scores_are_named() {
        let err = |text: &[u8]| parse(text, &want(&[1, 0])).unwrap_err();
        assert_eq!(
            err(b"p_0\n0.5\n"),
            "1 rows, but the test split has 2 samples"
        );
        assert_eq!(
            err(b"p_0,p_1\n0.5,0.5\n0.5,0.5\n"),
            "2 score columns, but `breastmnist` has 1 output (p_0..p_0)"
        );
        assert_eq!(
            err(b"y_0,p_0\n0,0.5\n0,0.5\n"),
            "line 2: y_0 is `0` but sample 0 of the test split has label 1"
        );
        assert_eq!(
            err(b"p_0\n1.5\n0.5\n"),
            "line 2: p_0 is 1.5; scores are probabilities in [0, 1]"
        );
        assert_eq!(
            err(b"index,p_0\n1,0.5\n0,0.5\n"),
            "line 2: index `1`, expected 0 (one row per sample, in the order of the split's indices)"
        );
    }
}
