//! The texts a regex literal can match, spelled out for [`super::text`]: a check on the
//! regex as written would miss `p[a]ssw(o|0)rd` or `(?i)PASS.WORD`. The regex is parsed
//! (`regex-syntax`), then spelled: literals in lower case, small classes and alternations
//! as each of their choices (`[Aa]` → `a`, `(o|0)` → `o` and `0`), optional parts with and
//! without, and anything wider (`.`, `\w`, `[^x]`, anchors) as a [`WILDCARD`], which the
//! text check reads as any letters (`p.ssw.rd` spells `password`). When the choices multiply
//! past [`MAX_SPELLINGS`], the part that multiplies becomes a wildcard in the whole and its
//! own spellings are checked on their own, so no word inside it goes unchecked.
//!
//! A regex SOPilot cannot parse (look-around, back-references) is refused: it could hide an
//! anchor from the check.

use regex_syntax::hir::{Class, Hir, HirKind};

use super::text::WILDCARD;

/// Spellings of a whole regex (or of one part) before a part becomes a blank.
const MAX_SPELLINGS: usize = 64;
/// A class of more characters than this is a wildcard.
const MAX_CLASS: u32 = 16;
/// A class is spelled out when it has at most this many characters, case ignored.
const MAX_CLASS_CHOICES: usize = 4;
/// Characters of spellings kept for separate checks before the regex is called too complex.
const MAX_SIDE_TEXT: usize = 256 * 1024;

/// Every text worth checking that `pattern` can match, or why it cannot be read.
pub fn spellings(pattern: &str) -> Result<Vec<String>, String> {
    let hir = regex_syntax::Parser::new()
        .parse(pattern)
        .map_err(|e| reason(&e.to_string()))?;
    let mut s = Speller::default();
    let mut all = s.spell(&hir);
    if s.side_text > MAX_SIDE_TEXT {
        return Err("it has too many alternatives to check".into());
    }
    all.append(&mut s.side);
    Ok(all)
}

/// The `error: ...` line of a regex-syntax error.
fn reason(message: &str) -> String {
    message
        .lines()
        .find_map(|l| l.strip_prefix("error: "))
        .unwrap_or(message)
        .to_owned()
}

#[derive(Debug, Default)]
struct Speller {
    /// Spellings of parts that became blanks, checked on their own.
    side: Vec<String>,
    side_text: usize,
}

impl Speller {
    fn spell(&mut self, h: &Hir) -> Vec<String> {
        match h.kind() {
            HirKind::Empty => vec![String::new()],
            HirKind::Literal(l) => vec![String::from_utf8_lossy(&l.0).to_lowercase()],
            HirKind::Class(c) => class(c),
            HirKind::Look(_) => blank(),
            HirKind::Repetition(r) => {
                let mut v = self.spell(&r.sub);
                if r.min == 0 {
                    v.push(String::new());
                }
                dedup(v)
            }
            HirKind::Capture(c) => self.spell(&c.sub),
            HirKind::Concat(items) => self.concat(items),
            HirKind::Alternation(items) => {
                let all = dedup(items.iter().flat_map(|i| self.spell(i)).collect());
                self.bounded(all)
            }
        }
    }

    fn concat(&mut self, items: &[Hir]) -> Vec<String> {
        let mut acc = vec![String::new()];
        for item in items {
            let mut v = self.spell(item);
            if acc.len() * v.len() > MAX_SPELLINGS {
                self.set_aside(v);
                v = blank();
            }
            acc = acc
                .iter()
                .flat_map(|a| v.iter().map(move |b| format!("{a}{b}")))
                .collect();
        }
        dedup(acc)
    }

    /// `all`, or a wildcard with `all` set aside when there are too many.
    fn bounded(&mut self, all: Vec<String>) -> Vec<String> {
        if all.len() > MAX_SPELLINGS {
            self.set_aside(all);
            blank()
        } else {
            all
        }
    }

    fn set_aside(&mut self, v: Vec<String>) {
        self.side_text += v.iter().map(String::len).sum::<usize>();
        if self.side_text <= MAX_SIDE_TEXT {
            self.side.extend(v);
        }
    }
}

/// A small class as its choices (case ignored), anything wider as a blank.
fn class(c: &Class) -> Vec<String> {
    let chars: Vec<char> = match c {
        Class::Unicode(u) => {
            let size: u32 = u
                .ranges()
                .iter()
                .map(|r| u32::from(r.end()) - u32::from(r.start()) + 1)
                .sum();
            if size > MAX_CLASS {
                return blank();
            }
            u.ranges()
                .iter()
                .flat_map(|r| r.start()..=r.end())
                .collect()
        }
        Class::Bytes(b) => {
            let size: u32 = b
                .ranges()
                .iter()
                .map(|r| u32::from(r.end()) - u32::from(r.start()) + 1)
                .sum();
            if size > MAX_CLASS {
                return blank();
            }
            b.ranges()
                .iter()
                .flat_map(|r| r.start()..=r.end())
                .map(char::from)
                .collect()
        }
    };
    let choices = dedup(chars.into_iter().map(fold).collect());
    if choices.len() > MAX_CLASS_CHOICES {
        blank()
    } else {
        choices
    }
}

/// What a wildcard, an anchor or a part not spelled out becomes: [`WILDCARD`].
fn blank() -> Vec<String> {
    vec![WILDCARD.to_string()]
}

/// One case for every spelling of a letter: `K`, `k` and the Kelvin sign are `k`; `ſ` is `s`.
fn fold(c: char) -> String {
    c.to_uppercase().collect::<String>().to_lowercase()
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.sort_unstable();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Spellings with wildcards shown as `.`.
    fn spelled(p: &str) -> Vec<String> {
        let w = WILDCARD.to_string();
        spellings(p)
            .unwrap()
            .into_iter()
            .map(|s| s.replace(&w, "."))
            .collect()
    }

    #[test]
    fn classes_alternations_and_case_are_spelled_out() {
        assert_eq!(spelled("pa[s]sw(o|0)rd=h"), ["passw0rd=h", "password=h"]);
        assert_eq!(spelled("(?i)PASSWORD"), ["password"]);
        assert_eq!(spelled("p.ssword"), ["p.ssword"]);
        assert_eq!(spelled("^tok\\x65n"), [".token"]);
        assert_eq!(spelled("colou?r"), ["color", "colour"]);
        assert_eq!(spelled("5\\d\\d"), ["5.."]);
    }

    #[test]
    fn parts_that_multiply_are_checked_on_their_own() {
        let p = "(a|b|c|d)(e|f|g|h)(i|j|k|l)(m|n|o|p)(password|q)";
        let all = spelled(p);
        assert!(all.iter().any(|s| s == "password"), "{all:?}");
        let many: Vec<String> = (0..100).map(|i| format!("w{i}")).collect();
        let p = format!("({}|secret)", many.join("|"));
        assert!(spelled(&p).iter().any(|s| s == "secret"));
    }

    #[test]
    fn unreadable_regexes_say_why() {
        assert!(
            spellings("(?=password)")
                .unwrap_err()
                .contains("look-around")
        );
        assert!(spellings("(a").is_err());
    }
}
