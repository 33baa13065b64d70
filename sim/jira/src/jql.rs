//! The JQL the simulator understands: clauses on `project`, `status`, `labels`, `key` and
//! `issuetype` with `=`, `!=` or `in (...)`, joined by `AND` and grouped by parentheses, and
//! `ORDER BY created|updated|key [ASC|DESC]`. Anything else (OR, NOT, `~`, functions, other
//! fields) is an error that says what is supported, as Jira's 400 would say what is wrong.

/// A field a clause may test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Project,
    Status,
    Labels,
    Key,
    IssueType,
}

/// One clause: `field = v`, `field != v`, `field in (v, ...)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub field: Field,
    pub values: Vec<String>,
    pub negated: bool,
}

/// A field results may be ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderField {
    Created,
    Updated,
    Key,
}

/// A parsed query: every clause must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    pub clauses: Vec<Clause>,
    /// The field and whether descending.
    pub order: Option<(OrderField, bool)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Quoted(String),
    Sym(char),
    Ne,
}

const SUPPORTED: &str = "the simulated Jira supports project, status, labels, key and issuetype with =, != or in (...), AND, parentheses, and ORDER BY created, updated or key";

fn tokens(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '"' | '\'' => {
                chars.next();
                let mut v = String::new();
                loop {
                    match chars.next() {
                        Some(q) if q == c => break,
                        Some('\\') => v.extend(chars.next()),
                        Some(x) => v.push(x),
                        None => {
                            return Err(format!(
                                "Error in the JQL Query: The quoted string {c}{v} has not been completed."
                            ));
                        }
                    }
                }
                out.push(Tok::Quoted(v));
            }
            '!' => {
                chars.next();
                if chars.next() != Some('=') {
                    return Err("Error in the JQL Query: '!' must be followed by '='.".into());
                }
                out.push(Tok::Ne);
            }
            '(' | ')' | ',' | '=' => {
                chars.next();
                out.push(Tok::Sym(c));
            }
            '~' | '<' | '>' => {
                return Err(format!(
                    "Error in the JQL Query: the operator '{c}' is not supported here ({SUPPORTED})."
                ));
            }
            _ => {
                let mut w = String::new();
                while let Some(&x) = chars.peek() {
                    if x.is_whitespace() || "()=,!~<>\"'".contains(x) {
                        break;
                    }
                    w.push(x);
                    chars.next();
                }
                out.push(Tok::Word(w));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn expr(&mut self, out: &mut Vec<Clause>) -> Result<(), String> {
        self.term(out)?;
        while self.is_word("and") {
            self.next();
            self.term(out)?;
        }
        if self.is_word("or") || self.is_word("not") {
            return Err(format!(
                "Error in the JQL Query: OR and NOT are not supported here ({SUPPORTED})."
            ));
        }
        Ok(())
    }

    fn term(&mut self, out: &mut Vec<Clause>) -> Result<(), String> {
        if self.peek() == Some(&Tok::Sym('(')) {
            self.next();
            self.expr(out)?;
            return match self.next() {
                Some(Tok::Sym(')')) => Ok(()),
                _ => {
                    Err("Error in the JQL Query: Expecting ')' before the end of the query.".into())
                }
            };
        }
        let field = match self.next() {
            Some(Tok::Word(w) | Tok::Quoted(w)) => field(&w)?,
            other => {
                return Err(format!(
                    "Error in the JQL Query: Expecting a field name but got {other:?}."
                ));
            }
        };
        let (negated, many) = match self.next() {
            Some(Tok::Sym('=')) => (false, false),
            Some(Tok::Ne) => (true, false),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("in") => (false, true),
            other => {
                return Err(format!(
                    "Error in the JQL Query: Expecting an operator after the field but got {other:?} ({SUPPORTED})."
                ));
            }
        };
        let values = if many {
            self.list()?
        } else {
            vec![self.value()?]
        };
        out.push(Clause {
            field,
            values,
            negated,
        });
        Ok(())
    }

    fn value(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Tok::Quoted(v)) => Ok(v),
            Some(Tok::Word(v))
                if !["and", "or", "order"].contains(&v.to_ascii_lowercase().as_str()) =>
            {
                Ok(v)
            }
            other => Err(format!(
                "Error in the JQL Query: Expecting a value but got {other:?}."
            )),
        }
    }

    fn list(&mut self) -> Result<Vec<String>, String> {
        if self.next() != Some(Tok::Sym('(')) {
            return Err("Error in the JQL Query: Expecting '(' after 'in'.".into());
        }
        let mut values = vec![self.value()?];
        loop {
            match self.next() {
                Some(Tok::Sym(',')) => values.push(self.value()?),
                Some(Tok::Sym(')')) => return Ok(values),
                _ => return Err("Error in the JQL Query: Expecting ',' or ')' in the list.".into()),
            }
        }
    }

    fn order(&mut self) -> Result<Option<(OrderField, bool)>, String> {
        if !self.is_word("order") {
            return Ok(None);
        }
        self.next();
        if !self.is_word("by") {
            return Err("Error in the JQL Query: Expecting 'by' after 'order'.".into());
        }
        self.next();
        let f = match self.next() {
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("created") => OrderField::Created,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("updated") => OrderField::Updated,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("key") => OrderField::Key,
            other => {
                return Err(format!(
                    "Error in the JQL Query: cannot order by {other:?} ({SUPPORTED})."
                ));
            }
        };
        let desc = if self.is_word("desc") {
            self.next();
            true
        } else {
            if self.is_word("asc") {
                self.next();
            }
            false
        };
        Ok(Some((f, desc)))
    }
}

fn field(name: &str) -> Result<Field, String> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "project" => Field::Project,
        "status" => Field::Status,
        "labels" => Field::Labels,
        "key" | "issuekey" | "issue" => Field::Key,
        "issuetype" | "type" => Field::IssueType,
        _ => {
            return Err(format!(
                "Field '{name}' does not exist or you do not have permission to view it."
            ));
        }
    })
}

/// Parses `jql`; an `Err` is the message of Jira's 400.
pub fn parse(jql: &str) -> Result<Query, String> {
    let mut p = Parser {
        toks: tokens(jql)?,
        at: 0,
    };
    let mut clauses = Vec::new();
    if p.peek().is_some() && !p.is_word("order") {
        p.expr(&mut clauses)?;
    }
    let order = p.order()?;
    if let Some(t) = p.peek() {
        return Err(format!(
            "Error in the JQL Query: unexpected {t:?} ({SUPPORTED})."
        ));
    }
    Ok(Query { clauses, order })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subset() {
        let q = parse(
            r#"project = OPS AND (status = "In Progress" AND labels in (sev1, 'db')) ORDER BY created DESC"#,
        );
        let q = q.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.clauses.len(), 3);
        assert_eq!(q.clauses[1].values, vec!["In Progress"]);
        assert_eq!(q.clauses[2].values, vec!["sev1", "db"]);
        assert_eq!(q.order, Some((OrderField::Created, true)));
        assert!(parse("key != OPS-1").is_ok_and(|q| q.clauses[0].negated));
        assert!(parse("").is_ok_and(|q| q.clauses.is_empty()));
    }

    #[test]
    fn the_rest_is_refused() {
        for bad in [
            "project = OPS OR project = SEC",
            "summary ~ boom",
            "assignee = currentUser()",
            "project = OPS AND (status = Done",
            "project = \"OPS",
            "created > -1d",
            "project = OPS ORDER BY priority",
            "project = OPS )",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
