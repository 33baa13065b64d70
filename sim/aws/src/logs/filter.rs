//! CloudWatch Logs filter patterns for unstructured text: terms (all must occur), quoted
//! phrases, `?term` alternatives (at least one must occur), `-term` exclusions, and `%regex%`.
//! Case-sensitive, as in CloudWatch. JSON (`{ $.x = 1 }`) and space-delimited (`[a, b]`)
//! patterns are refused with a message saying so.

use regex::Regex;

/// A parsed filter pattern.
#[derive(Debug, Clone, Default)]
pub struct FilterPattern {
    required: Vec<String>,
    any: Vec<String>,
    excluded: Vec<String>,
    regex: Option<Regex>,
}

impl FilterPattern {
    /// Parses a pattern; `Err` is a message for `InvalidParameterException`.
    pub fn parse(text: &str) -> Result<FilterPattern, String> {
        let t = text.trim();
        let mut p = FilterPattern::default();
        if t.is_empty() || t == "\"\"" {
            return Ok(p);
        }
        if t.starts_with('{') || t.starts_with('[') {
            return Err(format!(
                "Invalid filter pattern {text:?}: JSON and space-delimited filter patterns are not supported by the simulator; use terms, \"quoted phrases\", ?alternatives, -exclusions or %regex%"
            ));
        }
        if let Some(re) = t.strip_prefix('%').and_then(|r| r.strip_suffix('%')) {
            let regex = regex::RegexBuilder::new(re)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| format!("Invalid filter pattern: {e}"))?;
            p.regex = Some(regex);
            return Ok(p);
        }
        let mut chars = t.chars().peekable();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
                continue;
            }
            let prefix = match c {
                '?' | '-' => {
                    chars.next();
                    Some(c)
                }
                _ => None,
            };
            let mut term = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                term.push(n);
                            }
                        }
                        '"' => {
                            closed = true;
                            break;
                        }
                        _ => term.push(c),
                    }
                }
                if !closed {
                    return Err(format!(
                        "Invalid filter pattern {text:?}: unterminated quoted phrase"
                    ));
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    term.push(c);
                    chars.next();
                }
            }
            if term.is_empty() {
                return Err(format!("Invalid filter pattern {text:?}: empty term"));
            }
            match prefix {
                Some('?') => p.any.push(term),
                Some(_) => p.excluded.push(term),
                None => p.required.push(term),
            }
        }
        Ok(p)
    }

    /// Whether `message` matches.
    pub fn matches(&self, message: &str) -> bool {
        if let Some(re) = &self.regex {
            return re.is_match(message);
        }
        self.required.iter().all(|t| message.contains(t.as_str()))
            && (self.any.is_empty() || self.any.iter().any(|t| message.contains(t.as_str())))
            && !self.excluded.iter().any(|t| message.contains(t.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        FilterPattern::parse(p)
            .map(|p| p.matches(s))
            .unwrap_or(false)
    }

    #[test]
    fn terms_phrases_alternatives_exclusions() {
        assert!(m("", "anything"));
        assert!(m("ERROR", "2026 ERROR boom"));
        assert!(!m("ERROR", "error boom"));
        assert!(m("ERROR boom", "ERROR big boom"));
        assert!(!m("ERROR bang", "ERROR big boom"));
        assert!(m("\"big boom\"", "ERROR big boom"));
        assert!(!m("\"boom big\"", "ERROR big boom"));
        assert!(m("?ERROR ?Exception", "java.lang.IllegalStateException"));
        assert!(!m("?ERROR ?Exception", "INFO fine"));
        assert!(m("ERROR -healthcheck", "ERROR db"));
        assert!(!m("ERROR -healthcheck", "ERROR healthcheck failed"));
        assert!(m("%ERR(OR)?%", "ERR x"));
        assert!(FilterPattern::parse("{ $.level = \"x\" }").is_err());
        assert!(FilterPattern::parse("\"open").is_err());
        assert!(FilterPattern::parse("%(%").is_err());
    }
}
