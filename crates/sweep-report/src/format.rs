//! How numbers are printed in every human-readable format: scores with a
//! fixed number of decimals, "mean ± std", durations as "s (min)", counts
//! with their digits grouped ("11,181,642"), p-values, and which cell of a
//! column is the best one.
//!
//! A column reads one way: [`ColumnFormat`] fixes the decimals of a whole
//! column from all its values (durations take the decimals their largest
//! value needs), so "3017" is never printed above "6.69".
//!
//! The best value is chosen on the numbers *as printed*, so two rows that
//! read the same are both highlighted rather than one of them by a
//! difference nobody can see.

use crate::aggregate::Stat;
use crate::columns::{Better, Unit};

/// "—": a value that does not exist (std of one run, a missing row).
pub(crate) const DASH: &str = "—";

/// Decimals used for a duration of `seconds`: "3017", "61.5", "6.69".
fn seconds_decimals(seconds: f64) -> usize {
    match seconds.abs() {
        s if s >= 100.0 => 0,
        s if s >= 10.0 => 1,
        _ => 2,
    }
}

fn minutes_decimals(minutes: f64) -> usize {
    if minutes.abs() >= 10.0 { 0 } else { 1 }
}

/// Fixed decimals, never "-0.000".
pub(crate) fn fixed(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// `11181642.5` → `11,181,642.5`: a comma between each group of three
/// digits of the whole part (the thousands separator of English-language
/// journals; in LaTeX text mode a comma needs no braces).
pub(crate) fn group_digits(text: &str) -> String {
    let (sign, rest) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let (whole, fraction) = match rest.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (rest, None),
    };
    if !whole.chars().all(|c| c.is_ascii_digit()) {
        return text.to_string();
    }
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match fraction {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// A whole number if it is one, else one decimal; digits grouped.
fn count(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        group_digits(&format!("{v:.0}"))
    } else {
        group_digits(&fixed(v, 1))
    }
}

/// How every number of one column is printed: its unit and the decimals
/// chosen once for the whole column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ColumnFormat {
    unit: Unit,
    /// Scores: the requested decimals; durations: those of the seconds.
    decimals: usize,
    /// Durations: the decimals of the minutes in parentheses.
    minute_decimals: usize,
}

impl ColumnFormat {
    /// The format of a column whose cells hold `values` (means, or any
    /// other numbers the column prints).
    pub(crate) fn of_column(unit: Unit, decimals: usize, values: &[Option<f64>]) -> ColumnFormat {
        let largest = values
            .iter()
            .flatten()
            .filter(|v| v.is_finite())
            .map(|v| v.abs())
            .fold(0.0, f64::max);
        match unit {
            Unit::Seconds => ColumnFormat {
                unit,
                decimals: seconds_decimals(largest),
                minute_decimals: minutes_decimals(largest / 60.0),
            },
            Unit::Count => ColumnFormat {
                unit,
                decimals: 1,
                minute_decimals: 0,
            },
            Unit::Score => ColumnFormat {
                unit,
                decimals,
                minute_decimals: 0,
            },
        }
    }

    /// The format of a lone value (a cell that shares its column with
    /// values of other units).
    pub(crate) fn of_value(unit: Unit, decimals: usize, v: f64) -> ColumnFormat {
        ColumnFormat::of_column(unit, decimals, &[Some(v)])
    }
}

/// One value of a metric.
pub(crate) fn value(v: f64, unit: Unit, decimals: usize) -> String {
    formatted(v, ColumnFormat::of_value(unit, decimals, v))
}

/// One value in its column's format.
fn formatted(v: f64, f: ColumnFormat) -> String {
    match f.unit {
        Unit::Count => count(v),
        Unit::Score | Unit::Seconds => fixed(v, f.decimals),
    }
}

/// A signed difference: "+0.0123", "−" written as "-".
pub(crate) fn signed(v: f64, unit: Unit, decimals: usize) -> String {
    let s = value(v, unit, decimals);
    if s.starts_with('-') || s.chars().all(|c| c == '0' || c == '.') {
        s
    } else {
        format!("+{s}")
    }
}

/// The table cell of a statistic, in its column's format.
///
/// * scores: "0.8123 ± 0.0123"; "0.8123" when `show_std` is off (every row
///   of the column has one run); "0.8123 ± —" for one run among several;
/// * counts: the value when all runs agree, else "mean ± std", digits
///   grouped;
/// * durations: "3017 (50)" or "3017 ± 45 (50)", seconds and minutes;
/// * " (n=2)" is appended when fewer runs than the row holds have a value.
pub(crate) fn stat_cell(
    stat: &Stat,
    format: ColumnFormat,
    show_std: bool,
    row_loaded: usize,
) -> String {
    let Some(mean) = stat.mean else {
        return DASH.to_string();
    };
    let dec = format.decimals;
    let std = |dec: usize| stat.std.map_or(DASH.to_string(), |s| fixed(s, dec));
    let mut out = match format.unit {
        Unit::Count => {
            if stat.min == stat.max {
                count(mean)
            } else {
                format!(
                    "{} ± {}",
                    group_digits(&fixed(mean, 1)),
                    group_digits(&std(1))
                )
            }
        }
        Unit::Score => {
            if show_std {
                format!("{} ± {}", fixed(mean, dec), std(dec))
            } else {
                fixed(mean, dec)
            }
        }
        Unit::Seconds => {
            let min = fixed(mean / 60.0, format.minute_decimals);
            if show_std {
                format!("{} ± {} ({min})", fixed(mean, dec), std(dec))
            } else {
                format!("{} ({min})", fixed(mean, dec))
            }
        }
    };
    if stat.n < row_loaded {
        out.push_str(&format!(" (n={})", stat.n));
    }
    out
}

/// Like [`stat_cell`] with the std shown, but a value shared by every run
/// is printed once (per-class and prevalence tables, where most cells of a
/// shared test split are identical across folds).
pub(crate) fn compact_cell(stat: &Stat, unit: Unit, decimals: usize) -> String {
    let format = ColumnFormat::of_column(unit, decimals, &[stat.mean]);
    match stat.mean {
        Some(mean) if stat.min == stat.max => formatted(mean, format),
        _ => stat_cell(stat, format, true, stat.n),
    }
}

/// A p-value: three decimals, four below 0.01, "<0.0001" below that.
pub(crate) fn p_value(p: Option<f64>) -> String {
    match p {
        None => DASH.to_string(),
        Some(p) if p < 1e-4 => "<0.0001".to_string(),
        Some(p) if p < 0.01 => fixed(p, 4),
        Some(p) => fixed(p, 3),
    }
}

/// "0.012 (0.036)": a p-value and its Holm-adjusted value.
pub(crate) fn p_with_holm(p: Option<f64>, holm: Option<f64>) -> String {
    match p {
        None => DASH.to_string(),
        Some(_) => format!("{} ({})", p_value(p), p_value(holm)),
    }
}

/// The value as printed, as a number (for choosing the best cell).
fn as_printed(v: f64, format: ColumnFormat) -> f64 {
    let dec = match format.unit {
        Unit::Count => 1,
        Unit::Score | Unit::Seconds => format.decimals,
    };
    let scale = 10f64.powi(dec as i32);
    (v * scale).round() / scale
}

/// Which cells of a column hold the best value. Nothing is marked when the
/// metric has no direction, fewer than two cells have values, or every
/// value prints the same.
pub(crate) fn best_flags(means: &[Option<f64>], better: Better, format: ColumnFormat) -> Vec<bool> {
    let printed: Vec<Option<f64>> = means
        .iter()
        .map(|m| m.map(|v| as_printed(v, format)))
        .collect();
    let present: Vec<f64> = printed.iter().flatten().copied().collect();
    let none = vec![false; means.len()];
    if present.len() < 2 || better == Better::Neither {
        return none;
    }
    let best = match better {
        Better::Higher => present.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        _ => present.iter().copied().fold(f64::INFINITY, f64::min),
    };
    if present.iter().all(|&v| v == best) {
        return none;
    }
    printed.iter().map(|p| *p == Some(best)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::summarize;

    /// The format of a column holding just this statistic.
    fn cf(unit: Unit, decimals: usize, stat: &Stat) -> ColumnFormat {
        ColumnFormat::of_column(unit, decimals, &[stat.mean])
    }

    #[test]
    fn score_cells() {
        let s = summarize(&[0.70, 0.74, 0.72]);
        assert_eq!(
            stat_cell(&s, cf(Unit::Score, 4, &s), true, 3),
            "0.7200 ± 0.0200"
        );
        assert_eq!(stat_cell(&s, cf(Unit::Score, 2, &s), false, 3), "0.72");
        assert_eq!(
            stat_cell(&s, cf(Unit::Score, 3, &s), true, 4),
            "0.720 ± 0.020 (n=3)"
        );
        let one = summarize(&[0.5]);
        assert_eq!(
            stat_cell(&one, cf(Unit::Score, 4, &one), true, 1),
            "0.5000 ± —"
        );
        let none = summarize(&[]);
        assert_eq!(stat_cell(&none, cf(Unit::Score, 4, &none), true, 2), "—");
    }

    #[test]
    fn duration_and_count_cells() {
        let t = summarize(&[3017.0]);
        assert_eq!(
            stat_cell(&t, cf(Unit::Seconds, 4, &t), false, 1),
            "3017 (50)"
        );
        let t2 = summarize(&[3000.0, 3090.0]);
        assert_eq!(
            stat_cell(&t2, cf(Unit::Seconds, 4, &t2), true, 2),
            "3045 ± 64 (51)"
        );
        let small = summarize(&[6.694881849]);
        assert_eq!(
            stat_cell(&small, cf(Unit::Seconds, 4, &small), false, 1),
            "6.69 (0.1)"
        );
        let p = summarize(&[127950.0, 127950.0]);
        assert_eq!(stat_cell(&p, cf(Unit::Count, 4, &p), true, 2), "127,950");
        let q = summarize(&[10.0, 11.0]);
        assert_eq!(stat_cell(&q, cf(Unit::Count, 4, &q), true, 2), "10.5 ± 0.7");
    }

    #[test]
    fn counts_group_their_digits() {
        assert_eq!(group_digits("11181642"), "11,181,642");
        assert_eq!(group_digits("181642"), "181,642");
        assert_eq!(group_digits("999"), "999");
        assert_eq!(group_digits("1000.5"), "1,000.5");
        assert_eq!(group_digits("-1234"), "-1,234");
        assert_eq!(group_digits("—"), "—");
        let params = summarize(&[11_181_642.0, 11_181_645.0]);
        assert_eq!(
            stat_cell(&params, cf(Unit::Count, 4, &params), true, 2),
            "11,181,643.5 ± 2.1"
        );
        assert_eq!(value(1234.0, Unit::Count, 4), "1,234");
    }

    #[test]
    fn a_duration_column_prints_every_cell_with_the_same_decimals() {
        let long = summarize(&[3017.0]);
        let short = summarize(&[6.694881849]);
        let column = ColumnFormat::of_column(Unit::Seconds, 4, &[long.mean, short.mean]);
        assert_eq!(stat_cell(&long, column, false, 1), "3017 (50)");
        assert_eq!(stat_cell(&short, column, false, 1), "7 (0)");
        let minutes = ColumnFormat::of_column(Unit::Seconds, 4, &[Some(61.5), Some(6.69)]);
        assert_eq!(stat_cell(&short, minutes, false, 1), "6.7 (0.1)");
        // Best values are chosen as printed in the column's format.
        assert_eq!(
            best_flags(&[Some(3017.2), Some(3017.4)], Better::Lower, column),
            [false; 2]
        );
    }

    #[test]
    fn compact_cells_print_shared_values_once() {
        assert_eq!(
            compact_cell(&summarize(&[0.5, 0.5]), Unit::Score, 2),
            "0.50"
        );
        assert_eq!(
            compact_cell(&summarize(&[93.0, 93.0]), Unit::Count, 2),
            "93"
        );
        assert_eq!(
            compact_cell(&summarize(&[0.5, 0.7]), Unit::Score, 2),
            "0.60 ± 0.14"
        );
        assert_eq!(compact_cell(&summarize(&[]), Unit::Score, 2), "—");
    }

    #[test]
    fn signs_and_p_values() {
        assert_eq!(signed(0.01234, Unit::Score, 4), "+0.0123");
        assert_eq!(signed(-0.01234, Unit::Score, 4), "-0.0123");
        assert_eq!(signed(-0.00001, Unit::Score, 4), "0.0000");
        assert_eq!(p_value(Some(0.0271)), "0.027");
        assert_eq!(p_value(Some(0.00123)), "0.0012");
        assert_eq!(p_value(Some(3e-13)), "<0.0001");
        assert_eq!(p_value(None), "—");
        assert_eq!(p_with_holm(Some(0.012), Some(0.036)), "0.012 (0.036)");
    }

    #[test]
    fn best_is_chosen_on_printed_values() {
        let m = [Some(0.91234), Some(0.91236), Some(0.9)];
        // At 4 decimals 0.9123 and 0.9124: only the second is best.
        assert_eq!(
            best_flags(
                &m,
                Better::Higher,
                ColumnFormat::of_column(Unit::Score, 4, &[])
            ),
            [false, true, false]
        );
        // At 2 decimals both print 0.91: both are best.
        assert_eq!(
            best_flags(
                &m,
                Better::Higher,
                ColumnFormat::of_column(Unit::Score, 2, &[])
            ),
            [true, true, false]
        );
        assert_eq!(
            best_flags(
                &m,
                Better::Lower,
                ColumnFormat::of_column(Unit::Score, 2, &[])
            ),
            [false, false, true]
        );
        assert_eq!(
            best_flags(
                &m,
                Better::Neither,
                ColumnFormat::of_column(Unit::Score, 2, &[])
            ),
            [false; 3]
        );
        assert_eq!(
            best_flags(
                &[Some(1.0), None],
                Better::Lower,
                ColumnFormat::of_column(Unit::Score, 2, &[])
            ),
            [false; 2]
        );
        assert_eq!(
            best_flags(
                &[Some(1.0), Some(1.0)],
                Better::Lower,
                ColumnFormat::of_column(Unit::Score, 2, &[])
            ),
            [false; 2]
        );
    }
}
