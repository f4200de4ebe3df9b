//! Sampled grid axes: `lr: {log_uniform: [1e-5, 1e-2], samples: 8, seed: 0}`.
//!
//! Learning rates and weight decays are searched log-uniformly, not on a few
//! hand-picked values. A sampled axis is written where an axis's list would
//! be and becomes that list when the file is read: `samples` concrete values,
//! each checked by the field's own reader, so from then on every sample is
//! an ordinary grid point with a run key (cached, resumable, reportable).
//!
//! # The draw rule
//! Sample `i` (0-based) of an axis is computed from `(seed, field, i)` alone:
//! the first 8 bytes of sha256(`"sweep-sample-v1" \0 seed \0 field \0 i`),
//! big-endian, keep their top 53 bits as a number `u` in [0, 1). No stream
//! state carries from one sample to the next, so raising `samples` from 8 to
//! 12 keeps the first 8 values exactly, and two axes with the same seed draw
//! independently. `field` is the field's resolved name (`train.epochs` for
//! both `epochs` and `train.epochs`), so respelling an axis changes nothing.
//!
//! * `uniform: [low, high]`: `low + u·(high − low)`,
//! * `log_uniform: [low, high]` (0 < low): `exp(ln low + u·(ln high − ln low))`,
//! * `int_uniform: [low, high]`: `low + ⌊u·(high − low + 1)⌋`, both ends included,
//! * `choice: [a, b, …]`: item `⌊u·n⌋`, drawn with replacement.
//!
//! Drawn real numbers are rounded to [`SIGNIFICANT_DIGITS`] significant
//! digits (then kept within `[low, high]`), so they print well in labels and
//! the key does not hang on the last bit of a platform's `exp`. Both bounds
//! must be valid values of the field; every sample is then checked again by
//! the field's reader. A value drawn twice is one grid point: the axis keeps
//! each distinct value once, at its first draw.

use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::context::Context;
use super::diagnostic::{Sink, suggestion};
use super::node::{Node, Value};
use super::schema::FieldDef;
use crate::experiment::Assignment;

/// The ways of drawing an axis's values, as written in the file.
pub const SAMPLERS: &[&str] = &["log_uniform", "uniform", "int_uniform", "choice"];

/// The other keys a sampled axis takes.
pub const OPTIONS: &[&str] = &["samples", "seed"];

/// Significant digits kept of a drawn real number.
pub const SIGNIFICANT_DIGITS: usize = 4;

/// Most samples one axis may draw (the run ceiling `max_runs` applies too).
pub const MAX_SAMPLES: i64 = 10_000;

/// Whether `node` is written as a sampled axis: a mapping that names a
/// sampler or `samples` (so a misspelt sampler is reported as one).
pub fn is_sampled(node: &Node) -> bool {
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .any(|(k, _)| SAMPLERS.contains(&k.name.as_str()) || k.name == "samples"),
        _ => false,
    }
}

/// The number in [0, 1) that sample `index` of `field` draws under `seed`.
pub fn unit_draw(seed: u64, field: &str, index: u64) -> f64 {
    let mut hasher = Sha256::new();
    hasher.update(b"sweep-sample-v1\0");
    hasher.update(seed.to_string().as_bytes());
    hasher.update(b"\0");
    hasher.update(field.as_bytes());
    hasher.update(b"\0");
    hasher.update(index.to_string().as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

/// `v` rounded to [`SIGNIFICANT_DIGITS`] significant digits (decimal,
/// correctly rounded, so the same on every platform).
pub fn canonical(v: f64) -> f64 {
    format!("{v:.prec$e}", prec = SIGNIFICANT_DIGITS - 1)
        .parse()
        .unwrap_or(v)
}

/// How the values are drawn, with the bounds or items already read.
enum Draw<'a> {
    Numeric(Numeric),
    /// The items read as values of the field, with where each was written.
    Choice(Vec<(Json, &'a Node)>),
}

/// The numeric samplers and their bounds.
#[derive(Clone, Copy)]
enum Numeric {
    Uniform { low: f64, high: f64 },
    LogUniform { low: f64, high: f64 },
    IntUniform { low: i64, high: i64 },
}

/// Reads the sampled axis `node` (at `path`) of `field` into its distinct
/// values in draw order; `None` when something was reported.
pub(crate) fn expand(
    field: &FieldDef,
    node: &Node,
    path: &str,
    cx: &Context,
    sink: &mut Sink,
) -> Option<Vec<Assignment>> {
    let (sampler, ok) = sampler_entry(node, path, sink);
    let samples = read_samples(node, path, sink);
    let seed = read_seed(node, path, sink);
    let Some((kind, spec)) = sampler else {
        sink.error(
            node.pos,
            path,
            format!(
                "a sampled axis needs one of {} (e.g. {{log_uniform: [1e-5, 1e-2], samples: 8}})",
                SAMPLERS.join(", ")
            ),
        );
        return None;
    };
    let spec_path = format!("{path}.{kind}");
    let draw = read_draw(kind, field, spec, &spec_path, cx, sink);
    let (draw, samples, seed) = (draw?, samples?, seed?);
    if !ok {
        return None;
    }
    let mut values: Vec<Assignment> = Vec::new();
    for i in 0..samples {
        let u = unit_draw(seed, field.run_path, i);
        let (value, pos) = match &draw {
            Draw::Choice(items) => {
                let (value, item) =
                    &items[((u * items.len() as f64) as usize).min(items.len() - 1)];
                (value.clone(), item.pos)
            }
            Draw::Numeric(numeric) => {
                let drawn = Node {
                    pos: spec.pos,
                    value: numeric.value_at(u),
                };
                (
                    checked_sample(field, &drawn, i, &spec_path, cx, sink)?,
                    spec.pos,
                )
            }
        };
        if !values.iter().any(|a| a.value == value) {
            values.push(Assignment {
                run_path: field.run_path,
                value,
                pos,
            });
        }
    }
    Some(values)
}

/// The sampler key of a sampled axis and its value; reports a second
/// sampler and unknown keys (then `false`).
fn sampler_entry<'a>(
    node: &'a Node,
    path: &str,
    sink: &mut Sink,
) -> (Option<(&'a str, &'a Node)>, bool) {
    let Value::Map(entries) = &node.value else {
        return (None, false);
    };
    let mut ok = true;
    let mut sampler = None;
    for (key, value) in entries {
        let name = key.name.as_str();
        if SAMPLERS.contains(&name) {
            if let Some((first, _)) = sampler {
                sink.error(
                    key.pos,
                    format!("{path}.{name}"),
                    format!("a sampled axis draws one way; `{first}` is given already"),
                );
                ok = false;
            } else {
                sampler = Some((name, value));
            }
        } else if !OPTIONS.contains(&name) {
            let known: Vec<&str> = SAMPLERS.iter().chain(OPTIONS).copied().collect();
            sink.error(
                key.pos,
                format!("{path}.{name}"),
                format!(
                    "unknown key `{name}` of a sampled axis; expected one of {}{}",
                    known.join(", "),
                    suggestion(name, known.iter().copied())
                ),
            );
            ok = false;
        }
    }
    (sampler, ok)
}

impl Numeric {
    /// The YAML value drawn for `u`.
    fn value_at(self, u: f64) -> Value {
        match self {
            Numeric::Uniform { low, high } => {
                Value::Float(canonical(low + u * (high - low)).clamp(low, high))
            }
            Numeric::LogUniform { low, high } => {
                let v = (low.ln() + u * (high.ln() - low.ln())).exp();
                Value::Float(canonical(v).clamp(low, high))
            }
            Numeric::IntUniform { low, high } => {
                let span = (high - low) as f64 + 1.0;
                Value::Int((low + (u * span) as i64).min(high))
            }
        }
    }
}

/// Reads one drawn value with the field's reader; a rejected sample is
/// reported once, at the sampler, with the field's own reason.
fn checked_sample(
    field: &FieldDef,
    drawn: &Node,
    index: u64,
    path: &str,
    cx: &Context,
    sink: &mut Sink,
) -> Option<Json> {
    let mut inner = Sink::default();
    if let Some(v) = field.convert(drawn, path, cx, &mut inner)
        && inner.is_empty()
    {
        return Some(v);
    }
    let reason = inner
        .diagnostics
        .first()
        .map_or_else(String::new, |d| d.message.clone());
    let shown = match drawn.value {
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        _ => String::new(),
    };
    let hint = if matches!(drawn.value, Value::Float(_)) && reason.contains("integer") {
        " (use int_uniform for an integer field)"
    } else {
        ""
    };
    sink.error(
        drawn.pos,
        path,
        format!(
            "sample {} draws {shown}, which the field rejects: {reason}{hint}",
            index + 1
        ),
    );
    None
}

fn read_samples(node: &Node, path: &str, sink: &mut Sink) -> Option<u64> {
    let Some(samples) = node.get("samples") else {
        sink.error(
            node.pos,
            format!("{path}.samples"),
            "missing required key `samples` (how many values to draw)",
        );
        return None;
    };
    match samples.value {
        Value::Int(n) if (1..=MAX_SAMPLES).contains(&n) => Some(n as u64),
        _ => {
            sink.error(
                samples.pos,
                format!("{path}.samples"),
                format!(
                    "expected a number of samples in 1..={MAX_SAMPLES}, found {}",
                    shown(samples)
                ),
            );
            None
        }
    }
}

fn read_seed(node: &Node, path: &str, sink: &mut Sink) -> Option<u64> {
    let Some(seed) = node.get("seed") else {
        return Some(0);
    };
    match seed.value {
        Value::Int(n) if n >= 0 => Some(n as u64),
        _ => {
            sink.error(
                seed.pos,
                format!("{path}.seed"),
                format!(
                    "expected a non-negative integer seed, found {}",
                    shown(seed)
                ),
            );
            None
        }
    }
}

fn shown(node: &Node) -> String {
    match &node.value {
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Str(s) => format!("\"{s}\""),
        other => other.kind().to_string(),
    }
}

fn read_draw<'a>(
    kind: &str,
    field: &FieldDef,
    spec: &'a Node,
    path: &str,
    cx: &Context,
    sink: &mut Sink,
) -> Option<Draw<'a>> {
    let Value::Seq(items) = &spec.value else {
        let expected = if kind == "choice" {
            "a non-empty list of values to draw from"
        } else {
            "a list [low, high]"
        };
        sink.error(
            spec.pos,
            path,
            format!("expected {expected}, found {}", spec.value.kind()),
        );
        return None;
    };
    if kind == "choice" {
        if items.is_empty() {
            sink.error(spec.pos, path, "expected at least one value to draw from");
            return None;
        }
        let mut read = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let value = field.convert(item, &format!("{path}[{i}]"), cx, sink);
            read.push(value.map(|v| (v, item)));
        }
        return read
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .map(Draw::Choice);
    }
    let (low, high) = bounds(kind, field, spec, items, path, cx, sink)?;
    Some(Draw::Numeric(match kind {
        "uniform" => Numeric::Uniform { low, high },
        "log_uniform" => Numeric::LogUniform { low, high },
        _ => Numeric::IntUniform {
            low: low as i64,
            high: high as i64,
        },
    }))
}

/// `[low, high]` of a numeric sampler: two numbers (integers for
/// `int_uniform`, positive for `log_uniform`), low < high, both valid
/// values of the field.
fn bounds(
    kind: &str,
    field: &FieldDef,
    spec: &Node,
    items: &[Node],
    path: &str,
    cx: &Context,
    sink: &mut Sink,
) -> Option<(f64, f64)> {
    if items.len() != 2 {
        sink.error(
            spec.pos,
            path,
            format!("expected [low, high], found {} values", items.len()),
        );
        return None;
    }
    let mut read = [0.0; 2];
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        let number = match (kind, &item.value) {
            ("int_uniform", Value::Int(v)) => Some(*v as f64),
            ("int_uniform", _) => None,
            (_, _) => item.as_f64(),
        };
        let Some(v) = number else {
            let what = if kind == "int_uniform" {
                "an integer"
            } else {
                "a number"
            };
            sink.error(
                item.pos,
                &item_path,
                format!("expected {what}, found {}", shown(item)),
            );
            ok = false;
            continue;
        };
        if kind == "log_uniform" && v <= 0.0 {
            sink.error(
                item.pos,
                &item_path,
                format!("log_uniform bounds must be > 0, found {v}"),
            );
            ok = false;
            continue;
        }
        // Every value between two valid values is valid for the numeric
        // fields, so checking the bounds checks the whole range.
        ok &= field.convert(item, &item_path, cx, sink).is_some();
        read[i] = v;
    }
    if ok && read[0] >= read[1] {
        sink.error(
            spec.pos,
            path,
            format!("expected low < high, found [{}, {}]", read[0], read[1]),
        );
        return None;
    }
    ok.then_some((read[0], read[1]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::node::parse;
    use crate::spec::schema::lookup;

    fn draw(field: &str, yaml: &str) -> Result<Vec<Json>, Vec<String>> {
        let doc = parse(&format!("v: {yaml}\n")).unwrap();
        let node = doc.get("v").unwrap();
        assert!(is_sampled(node));
        let mut sink = Sink::default();
        let def = lookup(field).unwrap();
        let out = expand(
            &def,
            node,
            &format!("grid.{field}"),
            &Context::default(),
            &mut sink,
        );
        match out {
            Some(v) if sink.is_empty() => Ok(v.into_iter().map(|a| a.value).collect()),
            _ => Err(sink.diagnostics.into_iter().map(|d| d.message).collect()),
        }
    }

    #[test]
    fn the_unit_draw_is_a_pure_function_of_seed_field_and_index() {
        let a = unit_draw(0, "lr", 3);
        assert_eq!(a, unit_draw(0, "lr", 3));
        assert!((0.0..1.0).contains(&a));
        assert_ne!(a, unit_draw(1, "lr", 3));
        assert_ne!(a, unit_draw(0, "train.optimizer.weight_decay", 3));
        assert_ne!(a, unit_draw(0, "lr", 4));
    }

    #[test]
    fn log_uniform_draws_stay_in_range_spread_over_the_decades_and_are_rounded() {
        let values = draw("lr", "{log_uniform: [1e-5, 1e-2], samples: 200, seed: 0}").unwrap();
        assert!(values.len() > 190, "{}", values.len());
        let mut per_decade = [0usize; 3];
        for v in &values {
            let v = v.as_f64().unwrap();
            assert!((1e-5..=1e-2).contains(&v), "{v}");
            assert_eq!(v, canonical(v));
            per_decade[((v.log10() + 5.0).floor() as usize).min(2)] += 1;
        }
        // Log-uniform puts about a third in each decade; uniform would put
        // 90% in the last.
        for n in per_decade {
            assert!((40..=95).contains(&n), "{per_decade:?}");
        }
    }

    #[test]
    fn more_samples_keep_the_earlier_ones() {
        let eight = draw("lr", "{log_uniform: [1e-5, 1e-2], samples: 8, seed: 3}").unwrap();
        let twelve = draw("lr", "{log_uniform: [1e-5, 1e-2], samples: 12, seed: 3}").unwrap();
        assert_eq!(eight.len(), 8);
        assert_eq!(&twelve[..8], &eight[..]);
        let other_seed = draw("lr", "{log_uniform: [1e-5, 1e-2], samples: 8, seed: 4}").unwrap();
        assert_ne!(eight, other_seed);
    }

    #[test]
    fn respelling_the_axis_draws_the_same_values() {
        let short = draw("epochs", "{int_uniform: [1, 1000], samples: 5}").unwrap();
        let long = draw("train.epochs", "{int_uniform: [1, 1000], samples: 5}").unwrap();
        assert_eq!(short, long);
    }

    #[test]
    fn int_uniform_yields_integers_covering_both_ends() {
        let values = draw(
            "batch_size",
            "{int_uniform: [16, 19], samples: 60, seed: 1}",
        )
        .unwrap();
        let mut ints: Vec<i64> = values.iter().map(|v| v.as_i64().unwrap()).collect();
        ints.sort_unstable();
        assert_eq!(
            ints,
            [16, 17, 18, 19],
            "duplicates collapse; both ends drawn"
        );
    }

    #[test]
    fn choice_draws_from_the_given_values_read_by_the_field() {
        let values = draw("arch", "{choice: [resnet18, chest_cnn], samples: 20}").unwrap();
        let mut names: Vec<&str> = values.iter().map(|v| v.as_str().unwrap()).collect();
        names.sort_unstable();
        assert_eq!(names, ["chest_cnn", "resnet18"]);
        let opt = draw("optimizer", "{choice: [sgd], samples: 3}").unwrap();
        assert_eq!(opt.len(), 1);
        assert_eq!(opt[0]["name"], "sgd");
        let err = draw("arch", "{choice: [resnet18, resnet19], samples: 2}").unwrap_err();
        assert!(err[0].contains("`resnet19`"), "{err:?}");
    }

    #[test]
    fn uniform_on_an_integer_field_is_rejected_with_a_hint() {
        let err = draw("batch_size", "{uniform: [16, 256], samples: 4}").unwrap_err();
        assert!(err[0].starts_with("sample 1 draws "), "{err:?}");
        assert!(err[0].contains("use int_uniform"), "{err:?}");
    }

    #[test]
    fn bad_sampled_axes_are_reported_clearly() {
        let cases = [
            ("lr", "{log_uniform: [0, 1e-2], samples: 8}", "must be > 0"),
            (
                "lr",
                "{log_uniform: [1e-2, 1e-5], samples: 8}",
                "low < high",
            ),
            ("lr", "{uniform: [1e-3, 1e-3], samples: 8}", "low < high"),
            ("lr", "{uniform: [1e-3], samples: 8}", "[low, high]"),
            ("lr", "{log_uniform: [1e-5, 1e-2], samples: 0}", "1..=10000"),
            (
                "lr",
                "{log_uniform: [1e-5, 1e-2]}",
                "missing required key `samples`",
            ),
            (
                "lr",
                "{log_uniform: [1e-5, 1e-2], samples: 2, seed: -1}",
                "seed",
            ),
            (
                "lr",
                "{log_unifrom: [1e-5, 1e-2], samples: 2}",
                "did you mean `log_uniform`",
            ),
            (
                "lr",
                "{uniform: [1, 2], choice: [1], samples: 2}",
                "one way",
            ),
            (
                "batch_size",
                "{int_uniform: [1.5, 8], samples: 2}",
                "expected an integer",
            ),
            (
                "optimizer.momentum",
                "{uniform: [0.5, 1.0], samples: 2}",
                "[0, 1)",
            ),
            ("lr", "{choice: [], samples: 2}", "at least one value"),
        ];
        for (field, yaml, want) in cases {
            let err = draw(field, yaml).unwrap_err();
            assert!(err.iter().any(|e| e.contains(want)), "{yaml}: {err:?}");
        }
    }

    #[test]
    fn canonical_keeps_four_significant_digits() {
        assert_eq!(canonical(0.000_316_227_766), 0.000_316_2);
        assert_eq!(canonical(123_456.0), 123_500.0);
        assert_eq!(canonical(1e-5), 1e-5);
    }
}
