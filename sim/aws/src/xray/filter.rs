//! The part of X-Ray's filter expression language the simulator understands: the keywords
//! `ok`, `fault`, `error`, `throttle` (alone or `= true|false`), `responsetime` and `duration`
//! (seconds) and `http.status` compared with `= != < <= > >=`, `http.url` and `http.method`
//! with `=`, `!=`, `CONTAINS`, `BEGINSWITH`, `ENDSWITH`, `service("name")` and
//! `edge("from", "to")` optionally followed by `{ condition }` on that service or call, all
//! combined with `AND`, `OR`, `NOT` (or `&&`, `||`, `!`) and parentheses. Anything else is an
//! `InvalidRequestException` naming the token, as the real service refuses what it cannot
//! parse.

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Flag(Flag, bool),
    Number(NumField, Op, f64),
    Text(TextField, TextOp, String),
    Service(String, Option<Box<Expr>>),
    Edge(String, String, Option<Box<Expr>>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flag {
    Ok,
    Fault,
    Error,
    Throttle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumField {
    ResponseTime,
    Duration,
    HttpStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextField {
    Url,
    Method,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextOp {
    Eq,
    Ne,
    Contains,
    BeginsWith,
    EndsWith,
}

/// What an expression is evaluated against: a whole trace, or one service's part of it.
pub(crate) trait Subject {
    fn flag(&self, f: Flag) -> bool;
    fn number(&self, f: NumField) -> Option<f64>;
    fn text(&self, f: TextField) -> Option<&str>;
    /// The parts of the trace where `service` was called (empty when it was not).
    fn service_parts(&self, service: &str) -> Vec<&dyn Subject>;
    fn edge_parts(&self, from: &str, to: &str) -> Vec<&dyn Subject>;
}

impl Expr {
    pub fn eval(&self, s: &dyn Subject) -> bool {
        match self {
            Expr::And(a, b) => a.eval(s) && b.eval(s),
            Expr::Or(a, b) => a.eval(s) || b.eval(s),
            Expr::Not(a) => !a.eval(s),
            Expr::Flag(f, v) => s.flag(*f) == *v,
            Expr::Number(f, op, v) => s.number(*f).is_some_and(|x| compare(x, *op, *v)),
            Expr::Text(f, op, v) => s.text(*f).is_some_and(|x| text_match(x, *op, v)),
            Expr::Service(name, cond) => any_part(s.service_parts(name), cond.as_deref()),
            Expr::Edge(from, to, cond) => any_part(s.edge_parts(from, to), cond.as_deref()),
        }
    }
}

fn any_part(parts: Vec<&dyn Subject>, cond: Option<&Expr>) -> bool {
    parts.into_iter().any(|p| cond.is_none_or(|c| c.eval(p)))
}

fn compare(x: f64, op: Op, v: f64) -> bool {
    match op {
        Op::Eq => (x - v).abs() < 1e-9,
        Op::Ne => (x - v).abs() >= 1e-9,
        Op::Lt => x < v,
        Op::Le => x <= v,
        Op::Gt => x > v,
        Op::Ge => x >= v,
    }
}

fn text_match(x: &str, op: TextOp, v: &str) -> bool {
    match op {
        TextOp::Eq => x == v,
        TextOp::Ne => x != v,
        TextOp::Contains => x.contains(v),
        TextOp::BeginsWith => x.starts_with(v),
        TextOp::EndsWith => x.ends_with(v),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Num(f64),
    Sym(&'static str),
}

const SUPPORTED: &str = "ok, fault, error, throttle, responsetime, duration, http.status, http.url, http.method, service(\"name\") and edge(\"from\", \"to\") with an optional { condition }, AND, OR, NOT and parentheses";

fn lex(text: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' || c == '\'' {
            let end = chars[i + 1..]
                .iter()
                .position(|x| *x == c)
                .ok_or_else(|| format!("unterminated string at position {i}"))?;
            out.push(Tok::Str(chars[i + 1..i + 1 + end].iter().collect()));
            i += end + 2;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let len = chars[i..]
                .iter()
                .take_while(|x| x.is_ascii_digit() || **x == '.')
                .count();
            let s: String = chars[i..i + len].iter().collect();
            out.push(Tok::Num(
                s.parse().map_err(|_| format!("{s:?} is not a number"))?,
            ));
            i += len;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let len = chars[i..]
                .iter()
                .take_while(|x| x.is_ascii_alphanumeric() || **x == '_' || **x == '.')
                .count();
            out.push(Tok::Word(
                chars[i..i + len]
                    .iter()
                    .collect::<String>()
                    .to_ascii_lowercase(),
            ));
            i += len;
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let sym = ["&&", "||", "!=", "<=", ">="]
                .into_iter()
                .find(|s| *s == two)
                .or_else(|| {
                    ["(", ")", "{", "}", ",", "=", "<", ">", "!"]
                        .into_iter()
                        .find(|s| s.starts_with(c))
                })
                .ok_or_else(|| format!("unexpected character {c:?} at position {i}"))?;
            out.push(Tok::Sym(sym));
            i += sym.len();
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

/// Parses a filter expression; `Err` says what is wrong.
pub(crate) fn parse(text: &str) -> Result<Expr, String> {
    let mut p = Parser {
        toks: lex(text)?,
        pos: 0,
    };
    let e = p.or()?;
    match p.toks.get(p.pos) {
        None => Ok(e),
        Some(t) => Err(format!("unexpected {t:?} after a complete expression")),
    }
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

    fn eat(&mut self, sym: &str) -> bool {
        let hit = matches!(self.peek(), Some(Tok::Sym(s)) if *s == sym)
            || matches!(self.peek(), Some(Tok::Word(w)) if w == sym);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn expect(&mut self, sym: &str) -> Result<(), String> {
        if self.eat(sym) {
            Ok(())
        } else {
            Err(format!("expected {sym:?}, found {:?}", self.peek()))
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut e = self.and()?;
        while self.eat("or") || self.eat("||") {
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut e = self.unary()?;
        while self.eat("and") || self.eat("&&") {
            e = Expr::And(Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat("not") || self.eat("!") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat("(") {
            let e = self.or()?;
            self.expect(")")?;
            return Ok(e);
        }
        self.atom()
    }

    fn string(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(s),
            other => Err(format!("expected a quoted name, found {other:?}")),
        }
    }

    fn scoped(&mut self) -> Result<Option<Box<Expr>>, String> {
        if self.eat("{") {
            let e = self.or()?;
            self.expect("}")?;
            return Ok(Some(Box::new(e)));
        }
        Ok(None)
    }

    fn op(&mut self) -> Result<Op, String> {
        Ok(match self.next() {
            Some(Tok::Sym("=")) => Op::Eq,
            Some(Tok::Sym("!=")) => Op::Ne,
            Some(Tok::Sym("<")) => Op::Lt,
            Some(Tok::Sym("<=")) => Op::Le,
            Some(Tok::Sym(">")) => Op::Gt,
            Some(Tok::Sym(">=")) => Op::Ge,
            other => {
                return Err(format!(
                    "expected a comparison (= != < <= > >=), found {other:?}"
                ));
            }
        })
    }

    fn atom(&mut self) -> Result<Expr, String> {
        let word = match self.next() {
            Some(Tok::Word(w)) => w,
            other => {
                return Err(format!(
                    "expected a keyword, found {other:?}; supported: {SUPPORTED}"
                ));
            }
        };
        let flag = match word.as_str() {
            "ok" => Some(Flag::Ok),
            "fault" => Some(Flag::Fault),
            "error" => Some(Flag::Error),
            "throttle" => Some(Flag::Throttle),
            _ => None,
        };
        if let Some(f) = flag {
            return self.flag(f);
        }
        match word.as_str() {
            "responsetime" | "duration" | "http.status" => {
                let field = match word.as_str() {
                    "responsetime" => NumField::ResponseTime,
                    "duration" => NumField::Duration,
                    _ => NumField::HttpStatus,
                };
                let op = self.op()?;
                match self.next() {
                    Some(Tok::Num(n)) => Ok(Expr::Number(field, op, n)),
                    other => Err(format!("{word} compares with a number, found {other:?}")),
                }
            }
            "http.url" | "http.method" => {
                let field = if word == "http.url" {
                    TextField::Url
                } else {
                    TextField::Method
                };
                let op = match self.next() {
                    Some(Tok::Sym("=")) => TextOp::Eq,
                    Some(Tok::Sym("!=")) => TextOp::Ne,
                    Some(Tok::Word(w)) if w == "contains" => TextOp::Contains,
                    Some(Tok::Word(w)) if w == "beginswith" => TextOp::BeginsWith,
                    Some(Tok::Word(w)) if w == "endswith" => TextOp::EndsWith,
                    other => {
                        return Err(format!(
                            "{word} takes = != CONTAINS BEGINSWITH ENDSWITH, found {other:?}"
                        ));
                    }
                };
                Ok(Expr::Text(field, op, self.string()?))
            }
            "service" => {
                self.expect("(")?;
                let name = self.string()?;
                self.expect(")")?;
                Ok(Expr::Service(name, self.scoped()?))
            }
            "edge" => {
                self.expect("(")?;
                let from = self.string()?;
                self.expect(",")?;
                let to = self.string()?;
                self.expect(")")?;
                Ok(Expr::Edge(from, to, self.scoped()?))
            }
            other => Err(format!("unknown keyword {other:?}; supported: {SUPPORTED}")),
        }
    }

    fn flag(&mut self, f: Flag) -> Result<Expr, String> {
        let negate = if self.eat("=") {
            false
        } else if self.eat("!=") {
            true
        } else {
            return Ok(Expr::Flag(f, true));
        };
        let v = match self.next() {
            Some(Tok::Word(w)) if w == "true" => true,
            Some(Tok::Word(w)) if w == "false" => false,
            other => {
                return Err(format!(
                    "a flag compares with true or false, found {other:?}"
                ));
            }
        };
        Ok(Expr::Flag(f, v != negate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_investigations_use() {
        assert_eq!(parse("fault = true"), Ok(Expr::Flag(Flag::Fault, true)));
        assert_eq!(parse("fault"), Ok(Expr::Flag(Flag::Fault, true)));
        assert_eq!(parse("error != true"), Ok(Expr::Flag(Flag::Error, false)));
        assert_eq!(
            parse(r#"service("payment-service") { fault = true }"#),
            Ok(Expr::Service(
                "payment-service".into(),
                Some(Box::new(Expr::Flag(Flag::Fault, true)))
            ))
        );
        assert!(matches!(
            parse(r#"edge("payment-service", "payments-db") AND responsetime > 5"#),
            Ok(Expr::And(..))
        ));
        assert!(matches!(
            parse("NOT (ok OR http.status >= 500)"),
            Ok(Expr::Not(_))
        ));
        assert!(matches!(
            parse(r#"http.url CONTAINS "/pay""#),
            Ok(Expr::Text(TextField::Url, TextOp::Contains, _))
        ));
    }

    #[test]
    fn refuses_what_it_cannot_parse_naming_it() {
        for (bad, says) in [
            ("annotation.user = \"x\"", "annotation.user"),
            ("fault = maybe", "true or false"),
            ("service(payment)", "quoted name"),
            ("responsetime > \"5\"", "number"),
            ("fault AND", "keyword"),
            ("(fault", ")"),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
