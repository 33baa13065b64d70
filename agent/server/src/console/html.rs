//! HTML escaping and the small pieces every page is built from. Everything a run, an SOP or
//! a policy says is hostile text (a log line can hold `<script>`): it reaches a page only
//! through [`esc`].

use std::fmt::Write as _;

use serde_json::Value;

/// `text` safe inside an element or a double- or single-quoted attribute.
pub fn esc(text: &str) -> String {
    let mut o = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A path segment or query value, percent-encoded.
pub fn url_part(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// JSON shown as indented text in a `<pre>`, escaped.
pub fn json_pre(v: &Value) -> String {
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    format!("<pre class=\"json\">{}</pre>", esc(&text))
}

/// JSON on one line, escaped (for tables).
pub fn json_inline(v: &Value) -> String {
    esc(&serde_json::to_string(v).unwrap_or_default())
}

/// A coloured label for a status or decision (`ok`, `deny`...); the class is chosen from a
/// fixed list, the text is escaped.
pub fn badge(text: &str) -> String {
    let class = match text {
        "succeeded" | "allow" | "approved" | "executed" => "good",
        "running" | "pending" | "escalate" | "queued" => "wait",
        "failed" | "deny" | "denied" | "interrupted" | "error" => "bad",
        _ => "plain",
    };
    format!("<span class=\"badge {class}\">{}</span>", esc(text))
}

/// A table: the header cells (escaped here) and rows of cells already rendered as HTML.
pub fn table(class: &str, head: &[&str], rows: &[Vec<String>]) -> String {
    let mut o = format!("<table class=\"{}\"><thead><tr>", esc(class));
    for h in head {
        let _ = write!(o, "<th scope=\"col\">{}</th>", esc(h));
    }
    o.push_str("</tr></thead><tbody>");
    for r in rows {
        o.push_str("<tr>");
        for c in r {
            let _ = write!(o, "<td>{c}</td>");
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table>");
    o
}

/// A hidden form field carrying the session's CSRF token.
pub fn csrf_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(token)
    )
}

/// `text` with every `[E12]` turned into a link to the call that produced that evidence
/// (`#E12`). The text is escaped first; only the brackets' digits reach the link.
pub fn link_evidence(text: &str) -> String {
    let escaped = esc(text);
    let mut o = String::with_capacity(escaped.len());
    let mut rest = escaped.as_str();
    while let Some(i) = rest.find("[E") {
        o.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() && after[digits.len()..].starts_with(']') {
            let _ = write!(o, "<a class=\"ev\" href=\"#E{digits}\">[E{digits}]</a>");
            rest = &after[digits.len() + 1..];
        } else {
            o.push_str("[E");
            rest = after;
        }
    }
    o.push_str(rest);
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_inert() {
        let e = esc("<script>alert('x')</script> & \"q\"");
        assert_eq!(
            e,
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert!(!json_pre(&serde_json::json!({"log": "<img src=x onerror=1>"})).contains("<img"));
    }

    #[test]
    fn evidence_citations_become_links_and_nothing_else_does() {
        assert_eq!(
            link_evidence("rolled back [E3], see [E12] and [Ex] [E<b>]"),
            "rolled back <a class=\"ev\" href=\"#E3\">[E3]</a>, see <a class=\"ev\" href=\"#E12\">[E12]</a> and [Ex] [E&lt;b&gt;]"
        );
        assert_eq!(link_evidence("[E"), "[E");
    }
}
