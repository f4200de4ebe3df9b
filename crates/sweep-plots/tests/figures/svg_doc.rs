//! Reads an SVG figure back: checks that its tags nest, and lists its
//! elements and texts.

use std::path::Path;

/// A parsed-enough SVG document.
pub(crate) struct SvgDoc {
    pub source: String,
}

/// One element's attributes.
pub(crate) struct Element {
    attrs: Vec<(String, String)>,
}

impl Element {
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// How many coordinate pairs a `points` attribute holds.
    pub(crate) fn point_count(&self) -> usize {
        self.attr("points")
            .map_or(0, |p| p.split_whitespace().count())
    }
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

impl SvgDoc {
    /// Reads `path`, asserting it is one well-nested `<svg>` element.
    pub(crate) fn read(path: &Path) -> SvgDoc {
        let source = std::fs::read_to_string(path).expect("SVG file is UTF-8 text");
        let mut stack: Vec<String> = Vec::new();
        let mut rest = source.as_str();
        let mut roots = 0;
        while let Some(start) = rest.find('<') {
            let end = rest[start..].find('>').expect("every tag is closed") + start;
            let tag = &rest[start + 1..end];
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(
                    stack.pop().as_deref(),
                    Some(name.trim()),
                    "mismatched </{name}>"
                );
            } else if !tag.ends_with('/') && !tag.starts_with('?') && !tag.starts_with('!') {
                let name = tag
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                if stack.is_empty() {
                    roots += 1;
                    assert_eq!(name, "svg", "root element");
                }
                stack.push(name);
            }
            rest = &rest[end + 1..];
        }
        assert!(stack.is_empty(), "unclosed elements: {stack:?}");
        assert_eq!(roots, 1, "exactly one root element");
        SvgDoc { source }
    }

    /// `(width, height)` from the root element.
    pub(crate) fn size(&self) -> (u32, u32) {
        let root = self
            .elements("svg")
            .into_iter()
            .next()
            .expect("svg element");
        let num = |k: &str| root.attr(k).and_then(|v| v.parse().ok()).expect(k);
        (num("width"), num("height"))
    }

    /// Every element named `tag`, in document order.
    pub(crate) fn elements(&self, tag: &str) -> Vec<Element> {
        let open = format!("<{tag} ");
        self.source
            .match_indices(&open)
            .map(|(at, _)| {
                let body = &self.source[at + open.len()..];
                let body = &body[..body.find('>').expect("closed tag")];
                Element {
                    attrs: parse_attrs(body),
                }
            })
            .collect()
    }

    /// How many `tag` elements there are.
    pub(crate) fn count(&self, tag: &str) -> usize {
        self.elements(tag).len()
    }

    /// The trimmed, unescaped content of every `<text>` element.
    pub(crate) fn texts(&self) -> Vec<String> {
        self.source
            .split("<text ")
            .skip(1)
            .map(|chunk| {
                let content = &chunk[chunk.find('>').expect("text tag") + 1..];
                let content = &content[..content.find("</text>").expect("closed text")];
                unescape(content.trim())
            })
            .collect()
    }

    /// How many `<text>` elements read exactly `text`.
    pub(crate) fn text_count(&self, text: &str) -> usize {
        self.texts().iter().filter(|t| *t == text).count()
    }

    /// Polylines stroked in `rgb`.
    pub(crate) fn polylines_in(&self, (r, g, b): (u8, u8, u8)) -> Vec<Element> {
        let hex = format!("#{r:02X}{g:02X}{b:02X}");
        self.elements("polyline")
            .into_iter()
            .filter(|e| e.attr("stroke") == Some(hex.as_str()))
            .collect()
    }
}

fn parse_attrs(body: &str) -> Vec<(String, String)> {
    let mut attrs = Vec::new();
    let mut rest = body;
    while let Some(eq) = rest.find("=\"") {
        let key = rest[..eq].trim().to_string();
        let value_start = eq + 2;
        let value_end = rest[value_start..].find('"').expect("closing quote") + value_start;
        attrs.push((key, unescape(&rest[value_start..value_end])));
        rest = &rest[value_end + 1..];
    }
    attrs
}
