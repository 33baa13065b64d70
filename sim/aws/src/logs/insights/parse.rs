//! The Logs Insights subset's tokenizer and parser.

use super::{Agg, Aggregate, Command, Cond, GroupKey, Operand};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Regex(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
    Pipe,
}

fn tokenize(q: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = q.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while let Some(&c) = chars.get(i) {
        match c {
            c if c.is_whitespace() => i += 1,
            '|' => {
                out.push(Tok::Pipe);
                i += 1;
            }
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '"' | '\'' | '/' | '`' => {
                let quote = c;
                let mut s = String::new();
                i += 1;
                let mut closed = false;
                while let Some(&d) = chars.get(i) {
                    i += 1;
                    if d == '\\' {
                        if let Some(&n) = chars.get(i) {
                            // Keep regex escapes as written; unescape quotes in strings.
                            if quote == '/' && n != '/' {
                                s.push('\\');
                            }
                            s.push(n);
                            i += 1;
                        }
                    } else if d == quote {
                        closed = true;
                        break;
                    } else {
                        s.push(d);
                    }
                }
                if !closed {
                    return Err(format!("unterminated {quote} at position {i}"));
                }
                out.push(match quote {
                    '/' => Tok::Regex(s),
                    '`' => Tok::Ident(s),
                    _ => Tok::Str(s),
                });
            }
            '=' | '!' | '<' | '>' => {
                let next = chars.get(i + 1).copied();
                let (op, len) = match (c, next) {
                    ('=', Some('~')) => ("=~", 2),
                    ('=', _) => ("=", 1),
                    ('!', Some('=')) => ("!=", 2),
                    ('<', Some('=')) => ("<=", 2),
                    ('>', Some('=')) => (">=", 2),
                    ('<', _) => ("<", 1),
                    ('>', _) => (">", 1),
                    _ => return Err(format!("unexpected '!' at position {i}")),
                };
                out.push(Tok::Op(op));
                i += len;
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let start = i;
                i += 1;
                while chars
                    .get(i)
                    .is_some_and(|d| d.is_ascii_alphanumeric() || *d == '.')
                {
                    i += 1;
                }
                let text: String = chars.get(start..i).unwrap_or_default().iter().collect();
                match text.parse::<f64>() {
                    Ok(n) => out.push(Tok::Num(n)),
                    // `5m` in bin(5m) is a duration, kept as a word.
                    Err(_) => out.push(Tok::Ident(text)),
                }
            }
            c if c.is_alphanumeric() || matches!(c, '@' | '_' | '.' | '$' | '*') => {
                let start = i;
                while chars.get(i).is_some_and(|d| {
                    d.is_alphanumeric() || matches!(d, '@' | '_' | '.' | '$' | '*' | '-')
                }) {
                    i += 1;
                }
                out.push(Tok::Ident(
                    chars.get(start..i).unwrap_or_default().iter().collect(),
                ));
            }
            other => return Err(format!("unexpected character {other:?} at position {i}")),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn word(&self) -> Option<String> {
        match self.peek() {
            Some(Tok::Ident(w)) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if self.word().as_deref() == Some(w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, t: &Tok, what: &str) -> Result<(), String> {
        if self.peek() == Some(t) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected {what}"))
        }
    }

    fn at_end_of_command(&self) -> bool {
        matches!(self.peek(), None | Some(Tok::Pipe))
    }

    fn ident(&mut self, what: &str) -> Result<String, String> {
        match self.next() {
            Some(Tok::Ident(s)) => Ok(s),
            other => Err(format!(
                "expected {what}, found {}",
                describe(other.as_ref())
            )),
        }
    }

    fn command(&mut self) -> Result<Command, String> {
        let name = self.ident("a command (fields, filter, stats, sort, limit)")?;
        match name.to_ascii_lowercase().as_str() {
            "fields" | "display" => {
                let mut list = Vec::new();
                loop {
                    let f = self.ident("a field name")?;
                    let alias = if self.eat_word("as") {
                        self.ident("an alias")?
                    } else {
                        f.clone()
                    };
                    list.push((f, alias));
                    if self.peek() == Some(&Tok::Comma) {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                Ok(Command::Fields(list))
            }
            "filter" => Ok(Command::Filter(self.or()?)),
            "stats" => self.stats(),
            "sort" => {
                let f = self.ident("a field to sort by")?;
                let desc = if self.eat_word("desc") {
                    true
                } else {
                    let _ = self.eat_word("asc");
                    false
                };
                Ok(Command::Sort(f, desc))
            }
            "limit" => match self.next() {
                Some(Tok::Num(n)) if (1.0..=10_000.0).contains(&n) && n.fract() == 0.0 => {
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let n = n as usize;
                    Ok(Command::Limit(n))
                }
                _ => Err("limit takes a whole number between 1 and 10000".into()),
            },
            other => Err(format!(
                "the command {other:?} is not supported by the simulator (supported: fields, display, filter, stats, sort, limit)"
            )),
        }
    }

    fn stats(&mut self) -> Result<Command, String> {
        let mut aggs = Vec::new();
        loop {
            let name = self.ident("an aggregate function such as count()")?;
            let func = match name.to_ascii_lowercase().as_str() {
                "count" => Agg::Count,
                "sum" => Agg::Sum,
                "avg" => Agg::Avg,
                "min" => Agg::Min,
                "max" => Agg::Max,
                other => {
                    return Err(format!(
                        "the stats function {other:?} is not supported by the simulator (supported: count, sum, avg, min, max)"
                    ));
                }
            };
            self.expect(&Tok::LParen, "'(' after the stats function")?;
            let mut star = false;
            let field = match self.peek() {
                Some(Tok::RParen) => None,
                Some(Tok::Ident(f)) if f == "*" => {
                    self.pos += 1;
                    star = true;
                    None
                }
                _ => Some(self.ident("a field")?),
            };
            self.expect(&Tok::RParen, "')'")?;
            if func != Agg::Count && field.is_none() {
                return Err(format!("{name}() needs a field"));
            }
            let default_name = format!(
                "{name}({})",
                field.as_deref().unwrap_or(if star { "*" } else { "" })
            );
            let alias = if self.eat_word("as") {
                self.ident("an alias")?
            } else {
                default_name
            };
            aggs.push(Aggregate {
                func,
                field,
                name: alias,
            });
            if self.peek() == Some(&Tok::Comma) {
                self.pos += 1;
            } else {
                break;
            }
        }
        let mut by = Vec::new();
        if self.eat_word("by") {
            loop {
                if self.word().as_deref() == Some("bin")
                    && self.toks.get(self.pos + 1) == Some(&Tok::LParen)
                {
                    self.pos += 2;
                    let span = match self.next() {
                        Some(Tok::Ident(s)) => s,
                        Some(Tok::Num(n)) => format!("{n}s"),
                        other => {
                            return Err(format!(
                                "expected a duration in bin(), found {}",
                                describe(other.as_ref())
                            ));
                        }
                    };
                    self.expect(&Tok::RParen, "')' after bin's duration")?;
                    let secs = crate::time::parse_duration(&span)
                        .map(|d| d.num_seconds())
                        .filter(|s| *s > 0)
                        .ok_or_else(|| format!("{span:?} is not a duration such as 5m"))?;
                    by.push(GroupKey::Bin(secs, format!("bin({span})")));
                } else {
                    by.push(GroupKey::Field(self.ident("a field to group by")?));
                }
                if self.peek() == Some(&Tok::Comma) {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        Ok(Command::Stats(aggs, by))
    }

    fn or(&mut self) -> Result<Cond, String> {
        let mut left = self.and()?;
        while self.eat_word("or") {
            left = Cond::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Cond, String> {
        let mut left = self.not()?;
        while self.eat_word("and") {
            left = Cond::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Cond, String> {
        if self.eat_word("not") {
            return Ok(Cond::Not(Box::new(self.not()?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let inner = self.or()?;
            self.expect(&Tok::RParen, "')'")?;
            return Ok(inner);
        }
        if self.word().as_deref() == Some("ispresent")
            && self.toks.get(self.pos + 1) == Some(&Tok::LParen)
        {
            self.pos += 2;
            let f = self.ident("a field")?;
            self.expect(&Tok::RParen, "')'")?;
            return Ok(Cond::Present(f));
        }
        let left = self.operand()?;
        if self.eat_word("like") {
            return Ok(Cond::Like(left, self.operand()?));
        }
        if self.word().as_deref() == Some("not")
            && self
                .toks
                .get(self.pos + 1)
                .is_some_and(|t| matches!(t, Tok::Ident(w) if w.eq_ignore_ascii_case("like")))
        {
            self.pos += 2;
            return Ok(Cond::Not(Box::new(Cond::Like(left, self.operand()?))));
        }
        if let Some(Tok::Op(op)) = self.peek().cloned() {
            self.pos += 1;
            let right = self.operand()?;
            if op == "=~" {
                return Ok(Cond::Like(left, right));
            }
            return Ok(Cond::Compare(left, op, right));
        }
        Ok(Cond::Truthy(left))
    }

    fn operand(&mut self) -> Result<Operand, String> {
        match self.next() {
            Some(Tok::Ident(f)) => Ok(Operand::Field(f)),
            Some(Tok::Str(s)) => Ok(Operand::Str(s)),
            Some(Tok::Num(n)) => Ok(Operand::Num(n)),
            Some(Tok::Regex(r)) => regex::RegexBuilder::new(&r)
                .size_limit(1 << 20)
                .build()
                .map(Operand::Regex)
                .map_err(|e| format!("invalid regular expression /{r}/: {e}")),
            other => Err(format!(
                "expected a field, a string, a number or a /regex/, found {}",
                describe(other.as_ref())
            )),
        }
    }
}

fn describe(t: Option<&Tok>) -> String {
    match t {
        None => "the end of the query".into(),
        Some(Tok::Pipe) => "'|'".into(),
        Some(Tok::Comma) => "','".into(),
        Some(Tok::LParen) => "'('".into(),
        Some(Tok::RParen) => "')'".into(),
        Some(Tok::Op(o)) => format!("'{o}'"),
        Some(Tok::Ident(s)) => format!("{s:?}"),
        Some(Tok::Str(s)) => format!("the string {s:?}"),
        Some(Tok::Num(n)) => format!("the number {n}"),
        Some(Tok::Regex(r)) => format!("the regex /{r}/"),
    }
}

/// Parses a query into its commands; `Err` is a message for `MalformedQueryException`.
pub(super) fn parse(text: &str) -> Result<Vec<Command>, String> {
    if text.len() > 10_000 {
        return Err("the query is longer than 10000 characters".into());
    }
    let mut p = Parser {
        toks: tokenize(text)?,
        pos: 0,
    };
    let mut commands = Vec::new();
    loop {
        if p.peek().is_none() {
            break;
        }
        commands.push(p.command()?);
        if !p.at_end_of_command() {
            return Err(format!(
                "unexpected {} after a complete command",
                describe(p.peek())
            ));
        }
        if p.peek() == Some(&Tok::Pipe) {
            p.pos += 1;
            if p.peek().is_none() {
                return Err("the query ends with '|'".into());
            }
        }
    }
    if commands.is_empty() {
        return Err("the query is empty".into());
    }
    Ok(commands)
}
