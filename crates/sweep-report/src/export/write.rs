//! The two text forms of the tidy table. `long-csv`: one row per
//! observation (a run's metric, or a run's metric at one epoch), so every
//! row holds one number; `jsonl`: one JSON object per run (or per run and
//! epoch) with every metric as a key. Numbers are written in their shortest
//! form that reads back as the same `f64`, whole numbers without a fraction.

use std::io::{self, Write};

use serde_json::Value;

use super::table::TidyRun;

/// `long-csv`: the identifying columns, `epoch` when `per_epoch`, then
/// `metric` and `value`; an undefined value has no row. Returns the number
/// of rows written (header excluded).
pub(crate) fn long_csv(
    out: &mut dyn Write,
    id_names: &[String],
    runs: &[TidyRun],
    per_epoch: bool,
) -> io::Result<usize> {
    let mut w = csv::Writer::from_writer(out);
    let mut header: Vec<&str> = id_names.iter().map(String::as_str).collect();
    if per_epoch {
        header.push("epoch");
    }
    header.extend(["metric", "value"]);
    w.write_record(&header)?;
    let mut rows = 0;
    for run in runs {
        let id: Vec<String> = run.id.iter().map(csv_cell).collect();
        for set in &run.observations {
            for (metric, value) in &set.values {
                let Some(value) = value else { continue };
                let mut row = id.clone();
                if per_epoch {
                    row.push(set.epoch.map_or(String::new(), |e| e.to_string()));
                }
                row.push(metric.clone());
                row.push(number(*value));
                w.write_record(&row)?;
                rows += 1;
            }
        }
    }
    w.flush()?;
    Ok(rows)
}

/// `jsonl`: one object per run (or run and epoch): the identifying
/// columns, `epoch` when `per_epoch`, then every metric (`null` when
/// undefined), keys in that order. Returns the number of lines.
pub(crate) fn jsonl(
    out: &mut dyn Write,
    id_names: &[String],
    runs: &[TidyRun],
    per_epoch: bool,
) -> io::Result<usize> {
    let mut lines = 0;
    for run in runs {
        for set in &run.observations {
            let mut fields: Vec<(&str, Value)> = id_names
                .iter()
                .map(String::as_str)
                .zip(run.id.iter().cloned())
                .collect();
            if per_epoch {
                fields.push(("epoch", set.epoch.map_or(Value::Null, Value::from)));
            }
            for (metric, value) in &set.values {
                fields.push((metric, value.map_or(Value::Null, json_number)));
            }
            let body: Vec<String> = fields
                .iter()
                .map(|(name, value)| format!("{}:{}", Value::from(*name), value))
                .collect();
            writeln!(out, "{{{}}}", body.join(","))?;
            lines += 1;
        }
    }
    out.flush()?;
    Ok(lines)
}

/// A cell of the identifying columns as CSV text (empty for null).
fn csv_cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The shortest text that reads back as `v`.
fn number(v: f64) -> String {
    json_number(v).to_string()
}

/// `v` as a JSON number: whole numbers (parameter counts, epochs) without
/// a fraction, others in their shortest round-trip form.
fn json_number(v: f64) -> Value {
    const EXACT_INTEGERS: f64 = 9_007_199_254_740_992.0; // 2^53
    if v.fract() == 0.0 && v.abs() < EXACT_INTEGERS {
        Value::from(v as i64)
    } else {
        Value::from(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::table::Observations;
    use serde_json::json;

    fn runs() -> Vec<TidyRun> {
        vec![TidyRun {
            id: vec![json!("smoke"), json!(1e-5), Value::Null, json!(0)],
            observations: vec![
                Observations {
                    epoch: Some(1),
                    values: vec![("val_auc".into(), None), ("epoch_lr".into(), Some(0.1))],
                },
                Observations {
                    epoch: Some(2),
                    values: vec![
                        ("val_auc".into(), Some(2.0 / 3.0)),
                        ("epoch_lr".into(), Some(0.05)),
                    ],
                },
            ],
        }]
    }

    fn names() -> Vec<String> {
        ["experiment", "lr", "fold", "seed"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn long_csv_has_one_number_per_row_and_skips_undefined_values() {
        let mut out = Vec::new();
        let rows = long_csv(&mut out, &names(), &runs(), true).unwrap();
        assert_eq!(rows, 3);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "experiment,lr,fold,seed,epoch,metric,value\n\
             smoke,0.00001,,0,1,epoch_lr,0.1\n\
             smoke,0.00001,,0,2,val_auc,0.6666666666666666\n\
             smoke,0.00001,,0,2,epoch_lr,0.05\n"
        );
    }

    #[test]
    fn jsonl_has_one_object_per_observation_set_in_column_order() {
        let mut out = Vec::new();
        assert_eq!(jsonl(&mut out, &names(), &runs(), true).unwrap(), 2);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            r#"{"experiment":"smoke","lr":0.00001,"fold":null,"seed":0,"epoch":1,"val_auc":null,"epoch_lr":0.1}"#
        );
        let second: Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(second["val_auc"], json!(2.0 / 3.0));
    }
}
