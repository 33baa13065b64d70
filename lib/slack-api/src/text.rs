//! Slack's limits on what a message carries, and cuts that keep them: by characters (never
//! inside one), marked with `…` so a reader sees that something was cut.

/// The most characters of a message's `text` Slack accepts (beyond it: `msg_too_long`).
pub const MAX_TEXT: usize = 40_000;
/// The most blocks in one message.
pub const MAX_BLOCKS: usize = 50;
/// The most characters of a section's text (and of a context element's).
pub const MAX_SECTION_TEXT: usize = 3_000;
/// The most characters of a section field.
pub const MAX_FIELD_TEXT: usize = 2_000;
/// The most characters of a header's text.
pub const MAX_HEADER_TEXT: usize = 150;

/// The mark that ends a cut text.
pub const CUT_MARK: char = '…';

/// At most `max` characters, ending in [`CUT_MARK`] when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push(CUT_MARK);
    out
}

/// A message's text within [`MAX_TEXT`], cut with a mark and a note when longer.
pub fn message_text(text: &str) -> String {
    if text.chars().count() <= MAX_TEXT {
        return text.to_owned();
    }
    let note = "\n[cut: Slack shows at most 40,000 characters]";
    let mut out = clip(text, MAX_TEXT - note.chars().count());
    out.push_str(note);
    out
}

/// Escapes the three characters Slack's mrkdwn reserves, so text cannot form links,
/// mentions or entities.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_are_marked_and_respect_characters() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("ééé", 3), "ééé");
        assert_eq!(clip("éééé", 3), "éé…");
        assert_eq!(clip("abc", 0), "…");
        assert_eq!(
            escape("p99 < 200ms & <!here>"),
            "p99 &lt; 200ms &amp; &lt;!here&gt;"
        );
    }

    #[test]
    fn message_text_stays_within_slacks_limit() {
        let short = "x".repeat(MAX_TEXT);
        assert_eq!(message_text(&short), short);
        let long = "é".repeat(MAX_TEXT + 1);
        let cut = message_text(&long);
        assert_eq!(cut.chars().count(), MAX_TEXT);
        assert!(
            cut.ends_with("é…\n[cut: Slack shows at most 40,000 characters]"),
            "{}",
            cut.chars().skip(MAX_TEXT - 60).collect::<String>()
        );
    }
}
