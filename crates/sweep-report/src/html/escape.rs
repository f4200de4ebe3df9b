//! HTML escaping in one place, so every string that reaches the page (field
//! values, failure messages, experiment files, file names) goes through the
//! same rules and none can turn into markup.

/// Escapes `text` for use as element content or inside a double- or
/// single-quoted attribute value.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_become_entities() {
        assert_eq!(
            escape(r#"<script>alert("x & 'y'")</script>"#),
            "&lt;script&gt;alert(&quot;x &amp; &#39;y&#39;&quot;)&lt;/script&gt;"
        );
        assert_eq!(escape("lr = 0.001 ± —"), "lr = 0.001 ± —");
        // Already escaped text is escaped again, never trusted.
        assert_eq!(escape("&amp;"), "&amp;amp;");
    }
}
