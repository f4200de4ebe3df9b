//! A YAML document as a tree of nodes that remember where they were written.
//!
//! Deserialising straight into typed structs stops at the first problem and
//! loses positions after it. Researchers fixing a 60-line experiment file want
//! every mistake at once, each with `file:line:column`, so the spec is first
//! read into this position-carrying tree (serde-saphyr gives the spans, rejects
//! duplicate keys and enforces a parsing budget against YAML bombs) and then
//! checked field by field in [`super::validate`].

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A position in the experiment file (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
}

/// One YAML node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub value: Value,
}

/// The shape of a node. Mapping keys keep their own positions so an unknown
/// key can be pointed at directly.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

/// A mapping key and its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub pos: Pos,
    pub name: String,
}

impl Value {
    /// A short name of the kind of value, for "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

impl Node {
    /// The entry `name` of a mapping node, if this is a mapping and has it.
    pub fn get(&self, name: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Numeric value as f64 (integers widen).
    pub fn as_f64(&self) -> Option<f64> {
        match self.value {
            Value::Int(i) => Some(i as f64),
            Value::Float(f) => Some(f),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

fn pos_of<T>(s: &Spanned<T>) -> Pos {
    Pos {
        line: s.referenced.line(),
        column: s.referenced.column(),
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Value>::deserialize(deserializer)?;
        Ok(Node {
            pos: pos_of(&spanned),
            value: spanned.value,
        })
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        match i64::try_from(v) {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) => Ok(Value::Float(v as f64)),
        }
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<KeyName>>()? {
            let value = map.next_value::<Node>()?;
            entries.push((
                Key {
                    pos: pos_of(&key),
                    name: key.value.0,
                },
                value,
            ));
        }
        Ok(Value::Map(entries))
    }
}

/// Mapping keys are read as text whatever their YAML type (`1: x` is key "1").
struct KeyName(String);

impl<'de> Deserialize<'de> for KeyName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = KeyName;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar mapping key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyName, E> {
                Ok(KeyName(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<KeyName, E> {
                Ok(KeyName(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<KeyName, E> {
                Ok(KeyName(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<KeyName, E> {
                Ok(KeyName(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<KeyName, E> {
                Ok(KeyName(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<KeyName, E> {
                Ok(KeyName("null".to_string()))
            }
        }
        deserializer.deserialize_any(KeyVisitor)
    }
}

/// Why a document could not even be read as YAML.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub pos: Option<Pos>,
    pub message: String,
}

/// Deepest nesting of lists and mappings accepted. Real experiments nest
/// about six deep; the cap keeps the deserializer's recursion within a 2 MiB
/// thread stack even in a debug build (at 64 it was not).
const MAX_DEPTH: usize = 32;

/// Parses YAML text into a [`Node`] tree. Duplicate keys, syntax errors and
/// documents that would expand beyond the parsing budget (alias bombs) are
/// syntax errors.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_events = 200_000;
    budget.max_depth = MAX_DEPTH;
    budget.max_nodes = 200_000;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    serde_saphyr::from_str_with_options::<Node>(text, options).map_err(|e| SyntaxError {
        pos: e.location().map(|l| Pos {
            line: l.line(),
            column: l.column(),
        }),
        message: plain_message(&e.without_snippet().to_string()),
    })
}

/// The parser's message without its own position suffix or library advice.
fn plain_message(raw: &str) -> String {
    let line = first_line(raw);
    let line = match line.find(" at line ") {
        Some(i) => line[..i].to_string(),
        None => line,
    };
    if let Some(rest) = line.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(',').next().unwrap_or(rest).trim();
        return format!("duplicate key `{key}`: each key may appear only once in a mapping");
    }
    if line.starts_with("multiple YAML documents") {
        return "the file holds several YAML documents (separated by `---`); an experiment file is one document".into();
    }
    if line.contains("recursion limit exceeded") {
        return "values are nested too deeply".into();
    }
    if let Some(rest) = line.strip_prefix("non-finite float ") {
        let value = rest.split(' ').next().unwrap_or("");
        return format!("non-finite number {value} is not allowed");
    }
    if line.starts_with("budget breached: Depth ") {
        return format!("values are nested too deeply (the limit is {MAX_DEPTH} levels)");
    }
    if line.starts_with("budget breached") {
        return format!(
            "the document is too large or expands too far through anchors and aliases ({line}); \
             experiment files are limited to keep YAML alias bombs harmless"
        );
    }
    line
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let node = parse("name: x\ngrid:\n  lr: [0.1, 1e-3]\n").unwrap();
        let grid = node.get("grid").unwrap();
        let lr = grid.get("lr").unwrap();
        assert_eq!(lr.pos.line, 3);
        let Value::Seq(items) = &lr.value else {
            panic!("not a list")
        };
        assert_eq!(items[1].value, Value::Float(0.001));
        assert_eq!(
            items[1].pos,
            Pos {
                line: 3,
                column: 13
            }
        );
        let Value::Map(entries) = &grid.value else {
            panic!()
        };
        assert_eq!(entries[0].0.pos, Pos { line: 3, column: 3 });
    }

    #[test]
    fn deep_nesting_is_an_error_within_a_small_stack() {
        // Deeper than the budget but shallower than the parser's own limit,
        // so the deserializer recurses until the budget stops it (found by
        // replaying the fuzz corpus in a test thread).
        let text = format!(
            "a: {}{}\n",
            "[{b: ".repeat(MAX_DEPTH),
            "}]".repeat(MAX_DEPTH)
        );
        let err = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || parse(&text).unwrap_err())
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(
            err.message,
            format!("values are nested too deeply (the limit is {MAX_DEPTH} levels)")
        );
    }

    #[test]
    fn duplicate_keys_are_syntax_errors() {
        let err = parse("a: 1\na: 2\n").unwrap_err();
        assert!(
            err.message.to_lowercase().contains("duplicate"),
            "{}",
            err.message
        );
        assert_eq!(err.pos.map(|p| p.line), Some(2));
    }
}
