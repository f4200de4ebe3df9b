//! A run's settings as named fields, as the report uses them: the shared
//! vocabulary of [`sweep_core::run_view`] (also what `sweep run --only`
//! selects on), plus the grouping key that pools runs into rows.

use serde_json::Value;
pub(crate) use sweep_core::run_view::{Field, display, flatten, resolve, same_value, view};

/// A canonical text for a field value, for grouping (numbers by value).
pub(crate) fn canonical(v: Option<&Value>) -> String {
    match v {
        None => "\u{0}absent".into(),
        Some(Value::Number(n)) => format!("n:{}", n.as_f64().unwrap_or(f64::NAN)),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn grouping_compares_numbers_by_value() {
        assert_eq!(canonical(Some(&json!(1))), canonical(Some(&json!(1.0))));
        assert_ne!(canonical(Some(&json!(1))), canonical(Some(&json!("1"))));
        assert_ne!(canonical(None), canonical(Some(&Value::Null)));
    }
}
