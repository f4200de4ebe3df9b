//! JSON: the full structured result, per-run values included, for scripts.
//! Undefined numbers (NaN) are written as `null`.

use serde::Serialize;

pub(super) fn render<T: Serialize>(item: &T) -> String {
    let mut s = serde_json::to_string_pretty(item).expect("reports serialise");
    s.push('\n');
    s
}
