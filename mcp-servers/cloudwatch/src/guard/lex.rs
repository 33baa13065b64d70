//! A lexer for Logs Insights queries, just enough to tell code from literals: words (commands,
//! fields, functions, keywords), `"strings"` and `'strings'`, `/regex/` literals where an
//! operand is expected (after `like`, `=~`, `(`, `,`, ...; elsewhere `/` divides), backquoted
//! names, `#` comments (dropped) and the pipes between commands. Each token keeps its byte
//! span, so a query can be amended without being rewritten.

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// A command, field, function or keyword: `filter`, `@message`, `kubernetes.pod_name`.
    Word(String),
    /// A number, or a duration such as `5m`.
    Number(String),
    /// A string literal's text, escapes as written.
    Str(String),
    /// A regex literal's text, between its slashes.
    Regex(String),
    /// A backquoted field name's text.
    Quoted(String),
    /// `|`, between commands.
    Pipe,
    /// Any other character: `(`, `,`, `=`, `~`, ...
    Punct(char),
}

/// A token and where it is in the query (byte offsets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

/// Words after which a `/` starts a regex literal rather than a division.
const BEFORE_OPERAND: &[&str] = &["like", "and", "or", "not", "in", "filter", "parse"];

/// The tokens of `query`, or what could not be read (an unterminated literal).
pub fn lex(query: &str) -> Result<Vec<Token>, String> {
    let b = query.as_bytes();
    let mut out: Vec<Token> = Vec::new();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let start = i;
        let tok = match c {
            _ if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'#' => {
                i = until(b, i, b'\n');
                continue;
            }
            b'"' | b'\'' | b'`' => {
                i = closing(b, i, c)?;
                let text = slice(query, start + 1, i - 1);
                match c {
                    b'`' => Tok::Quoted(text),
                    _ => Tok::Str(text),
                }
            }
            b'/' if regex_allowed(out.last().map(|t| &t.tok)) => {
                i = closing(b, i, b'/')?;
                Tok::Regex(slice(query, start + 1, i - 1))
            }
            b'|' => {
                i += 1;
                Tok::Pipe
            }
            _ if c.is_ascii_digit() => {
                i = run(b, i);
                Tok::Number(slice(query, start, i))
            }
            _ if word_byte(c) => {
                i = run(b, i);
                Tok::Word(slice(query, start, i))
            }
            _ => {
                i += 1;
                Tok::Punct(char::from(c))
            }
        };
        out.push(Token { tok, start, end: i });
    }
    Ok(out)
}

fn word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'@' | b'$' | b'.') || c >= 0x80
}

/// The end of the run of word bytes starting at `i`.
fn run(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|&c| word_byte(c)) {
        i += 1;
    }
    i
}

/// The index of the next `stop` byte from `i` (or the end).
fn until(b: &[u8], mut i: usize, stop: u8) -> usize {
    while b.get(i).is_some_and(|&c| c != stop) {
        i += 1;
    }
    i
}

/// The index just past the quote that closes the literal opened at `open` (a backslash
/// escapes the next byte).
fn closing(b: &[u8], open: usize, quote: u8) -> Result<usize, String> {
    let mut i = open + 1;
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' => i += 2,
            _ if c == quote => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err(format!(
        "the {} opened at character {} is not closed",
        match quote {
            b'/' => "regex /",
            b'`' => "backquoted name `",
            b'"' => "string \"",
            _ => "string '",
        },
        open + 1
    ))
}

fn slice(query: &str, start: usize, end: usize) -> String {
    query.get(start..end).unwrap_or_default().to_owned()
}

/// Whether a `/` after `prev` opens a regex: at the start, after a pipe, an operator or an
/// opening bracket, or after a keyword that takes an operand.
fn regex_allowed(prev: Option<&Tok>) -> bool {
    match prev {
        None | Some(Tok::Pipe) => true,
        Some(Tok::Punct(c)) => !matches!(c, ')' | ']'),
        Some(Tok::Word(w)) => BEFORE_OPERAND.contains(&w.to_ascii_lowercase().as_str()),
        Some(Tok::Number(_) | Tok::Str(_) | Tok::Regex(_) | Tok::Quoted(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn toks(q: &str) -> Vec<Tok> {
        lex(q).unwrap().into_iter().map(|t| t.tok).collect()
    }

    fn w(s: &str) -> Tok {
        Tok::Word(s.into())
    }

    #[test]
    fn tells_regexes_from_divisions() {
        assert_eq!(
            toks("filter @message like /a\\/b|c/ | fields bytes / 1024 # note"),
            [
                w("filter"),
                w("@message"),
                w("like"),
                Tok::Regex("a\\/b|c".into()),
                Tok::Pipe,
                w("fields"),
                w("bytes"),
                Tok::Punct('/'),
                Tok::Number("1024".into()),
            ]
        );
        assert_eq!(
            toks("filter x =~ /k/"),
            [
                w("filter"),
                w("x"),
                Tok::Punct('='),
                Tok::Punct('~'),
                Tok::Regex("k".into())
            ]
        );
    }

    #[test]
    fn strings_quotes_and_spans() {
        let t = lex("display `a b`, \"x\\\"y\" ,'z'").unwrap();
        assert_eq!(t[1].tok, Tok::Quoted("a b".into()));
        assert_eq!(t[3].tok, Tok::Str("x\\\"y".into()));
        assert_eq!(t[5].tok, Tok::Str("z".into()));
        assert_eq!((t[0].start, t[0].end), (0, 7));
    }

    #[test]
    fn unterminated_literals_are_errors() {
        assert!(
            lex("filter @message like /abc")
                .unwrap_err()
                .contains("regex")
        );
        assert!(lex("filter a = \"abc").unwrap_err().contains("string"));
    }
}
