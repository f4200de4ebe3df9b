//! One way of writing the numbers of one column.
//!
//! [`crate::run_view::display`] writes each number on its own the way papers
//! do (`0.001`, `1e-4`), so a learning-rate column of a table, or the `lr=`
//! of run labels side by side, would read `0.001` in one row and `1e-4` in
//! the next. A [`Notation`] is chosen once for all values of a field: when
//! any of them needs an exponent, every one is written with one (`1e-3`,
//! `1e-4`, `3e-4`); otherwise all are plain decimals. Zero stays `0` and
//! whole numbers such as batch sizes are never given an exponent.

use serde_json::Value;

use crate::run_view::display;

/// How the numbers of one field are written across rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Notation {
    /// As [`display`] writes them (`0.001`, `0.01`).
    #[default]
    Plain,
    /// Every non-zero fractional number with an exponent (`1e-3`, `1e-4`).
    Scientific,
}

impl Notation {
    /// The notation for a column holding `values`: scientific when any
    /// number among them prints with an exponent on its own.
    pub fn of_column<'a>(values: impl IntoIterator<Item = &'a Value>) -> Notation {
        let needs_exponent = |v: &Value| {
            v.as_number()
                .is_some_and(|n| !n.is_u64() && !n.is_i64() && display(v).contains('e'))
        };
        if values.into_iter().any(needs_exponent) {
            Notation::Scientific
        } else {
            Notation::Plain
        }
    }

    /// `v` written in this notation; anything but a fractional number is
    /// written as [`display`] writes it.
    pub fn display(self, v: &Value) -> String {
        match (self, v.as_number().and_then(|n| n.as_f64())) {
            (Notation::Scientific, Some(x))
                if x != 0.0 && x.is_finite() && !v.is_u64() && !v.is_i64() =>
            {
                format!("{x:e}")
            }
            _ => display(v),
        }
    }

    /// Each value of a column in one notation (`None`: the field is absent,
    /// written as `absent`).
    pub fn display_column(values: &[Option<&Value>], absent: &str) -> Vec<String> {
        let notation = Notation::of_column(values.iter().flatten().copied());
        values
            .iter()
            .map(|v| v.map_or_else(|| absent.to_string(), |v| notation.display(v)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn column(values: &[Value]) -> Vec<String> {
        let refs: Vec<Option<&Value>> = values.iter().map(Some).collect();
        Notation::display_column(&refs, "—")
    }

    #[test]
    fn a_column_with_one_exponent_writes_every_number_with_one() {
        assert_eq!(
            column(&[json!(0.001), json!(0.0001), json!(0.0003)]),
            ["1e-3", "1e-4", "3e-4"]
        );
        assert_eq!(
            column(&[json!(0.0), json!(0.0001), json!(0.0015)]),
            ["0", "1e-4", "1.5e-3"]
        );
        assert_eq!(
            Notation::of_column(&[json!(0.001), json!(1e-5)]),
            Notation::Scientific
        );
    }

    #[test]
    fn plain_columns_and_other_values_are_unchanged() {
        assert_eq!(column(&[json!(0.001), json!(0.01)]), ["0.001", "0.01"]);
        assert_eq!(column(&[json!(32), json!(64)]), ["32", "64"]);
        assert_eq!(
            column(&[json!(16), json!(0.0001), json!("none"), json!(null)]),
            ["16", "1e-4", "none", "none"]
        );
        assert_eq!(
            Notation::display_column(&[None, Some(&json!(0.5))], "—"),
            ["—", "0.5"]
        );
    }
}
