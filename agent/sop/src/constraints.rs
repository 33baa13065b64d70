//! RFC 2119 constraints: which keyword a bullet uses, and whether a prohibition says why.

use crate::model::Level;

/// Words that mark a standalone uppercase keyword.
fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}

/// The strongest RFC 2119 keyword the text uses (uppercase, as the RFC requires).
pub fn level_of(text: &str) -> Option<Level> {
    let w = words(text);
    let pair = |a: &str, b: &str| w.windows(2).any(|p| p[0] == a && p[1] == b);
    if pair("MUST", "NOT") || pair("SHALL", "NOT") {
        return Some(Level::MustNot);
    }
    if pair("SHOULD", "NOT") || pair("NOT", "RECOMMENDED") {
        return Some(Level::ShouldNot);
    }
    let has = |k: &str| w.contains(&k);
    if has("MUST") || has("SHALL") || has("REQUIRED") {
        return Some(Level::Must);
    }
    if has("SHOULD") || has("RECOMMENDED") {
        return Some(Level::Should);
    }
    if has("MAY") || has("OPTIONAL") {
        return Some(Level::May);
    }
    None
}

/// Phrases that introduce the reason of a prohibition.
const REASON_MARKERS: [&str; 17] = [
    " because ",
    " since ",
    " as ",
    " to avoid ",
    " to prevent ",
    " to keep ",
    " so that ",
    " so the ",
    " otherwise",
    " which would ",
    " which could ",
    " which can ",
    " which may ",
    " in order to ",
    " due to ",
    " given that ",
    " unless ",
];

/// Whether a negative constraint gives its reason ("You MUST NOT delete X because ...").
pub fn has_reason(text: &str) -> bool {
    let t = format!(" {} ", text.to_lowercase());
    REASON_MARKERS.iter().any(|m| t.contains(m))
        || text.contains(" — ")
        || text.contains(" - ")
        || text.contains(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(level_of("You MUST check the logs"), Some(Level::Must));
        assert_eq!(level_of("You MUST NOT delete pods"), Some(Level::MustNot));
        assert_eq!(
            level_of("You SHOULD NOT restart twice"),
            Some(Level::ShouldNot)
        );
        assert_eq!(level_of("If it fails, you MAY retry"), Some(Level::May));
        assert_eq!(
            level_of("It is NOT RECOMMENDED to wait"),
            Some(Level::ShouldNot)
        );
        assert_eq!(level_of("you must check"), None, "keywords are uppercase");
        assert_eq!(level_of("MUSTARD is a condiment"), None);
    }

    #[test]
    fn reasons() {
        assert!(has_reason(
            "You MUST NOT delete files without confirmation because this could lose data"
        ));
        assert!(has_reason(
            "You MUST NOT scale a StatefulSet, as its pods own volumes"
        ));
        assert!(!has_reason("You MUST NOT delete files"));
    }
}
