//! The project allow-list: issue keys and project keys are checked before any request, and a
//! search's JQL is wrapped as `project in (ALLOWED) AND (JQL)` after checking it cannot close
//! the parenthesis early (balanced, quotes closed), so its `OR`s stay inside the allow-list.
//! Jira resolves the old key of a moved issue (`OPS-5`, now `SEC-7`), so a key's prefix
//! proves nothing on its own: [`Projects::resolved`] checks the issue Jira answered.

use serde_json::Value;

use crate::error::{JiraError, JiraResult};

/// The issue Jira answered for a key, its current key and project both allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The current key (not the old key of a moved issue).
    pub key: String,
    /// Jira's id: what a write addresses, so it reaches the issue that was checked.
    pub id: String,
    pub project: String,
}

/// A Jira id (an issue's or a transition's) from an answer, if it is one: digits only. It goes
/// into a request's path or body, where `../` or `?` would send the request elsewhere.
pub fn numeric_id(v: &Value) -> Option<String> {
    v.as_str()
        .filter(|s| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned)
}

/// The projects the tools may use.
#[derive(Debug, Clone)]
pub struct Projects(Vec<String>);

impl Projects {
    pub fn new(keys: Vec<String>) -> Projects {
        Projects(keys)
    }

    pub fn list(&self) -> String {
        self.0.join(", ")
    }

    pub fn allows(&self, key: &str) -> bool {
        self.0.iter().any(|k| k.eq_ignore_ascii_case(key))
    }

    /// The project key `project`, upper-cased, if allowed.
    pub fn project(&self, project: &str) -> JiraResult<String> {
        let p = project.trim().to_ascii_uppercase();
        if self.allows(&p) {
            Ok(p)
        } else {
            Err(JiraError::OutOfScope {
                what: format!("project {p:?}"),
                allowed: self.list(),
            })
        }
    }

    /// An issue key (`OPS-123`), upper-cased, if its project is allowed.
    pub fn issue(&self, key: &str) -> JiraResult<String> {
        let k = key.trim().to_ascii_uppercase();
        let Some((project, n)) = k.rsplit_once('-').filter(|(p, n)| {
            !p.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
        }) else {
            return Err(JiraError::BadArgument(format!(
                "{key:?} is not an issue key: use PROJECT-NUMBER, e.g. OPS-123"
            )));
        };
        if !project
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(JiraError::BadArgument(format!(
                "{key:?} is not an issue key: use PROJECT-NUMBER, e.g. OPS-123"
            )));
        }
        if !self.allows(project) {
            return Err(JiraError::OutOfScope {
                what: format!("issue {k} (project {project})"),
                allowed: self.list(),
            });
        }
        Ok(format!("{project}-{n}"))
    }

    /// The issue bean Jira answered for `asked` (read with `fields=project`), if both its
    /// `key` and its `fields.project.key` are allowed.
    pub fn resolved(&self, asked: &str, bean: &Value) -> JiraResult<Resolved> {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_ascii_uppercase();
        let (key, project) = (text(&bean["key"]), text(&bean["fields"]["project"]["key"]));
        let id = numeric_id(&bean["id"]).unwrap_or_default();
        if key.is_empty() || project.is_empty() || id.is_empty() {
            return Err(JiraError::BadArgument(format!(
                "Jira's answer for {asked} has no key, numeric id or project; nothing was changed"
            )));
        }
        let key_project = key.rsplit_once('-').map_or("", |(p, _)| p);
        if !self.allows(&project) || !self.allows(key_project) {
            return Err(JiraError::OutOfScope {
                what: format!("issue {asked} (now {key} in project {project}: it was moved)"),
                allowed: self.list(),
            });
        }
        Ok(Resolved { key, id, project })
    }

    /// The JQL actually sent for a search with `jql`.
    pub fn confine(&self, jql: &str) -> JiraResult<String> {
        let (filter, order) = split_order(jql)?;
        self.check_named_projects(filter)?;
        let quoted: Vec<String> = self.0.iter().map(|k| format!("\"{k}\"")).collect();
        let scope = format!("project in ({})", quoted.join(", "));
        let order = order.unwrap_or("ORDER BY created DESC");
        Ok(if filter.trim().is_empty() {
            format!("{scope} {order}")
        } else {
            format!("{scope} AND ({}) {order}", filter.trim())
        })
    }

    /// A `project = X` / `project in (X, Y)` naming another project is refused up front (the
    /// wrapping would make it match nothing; saying so is kinder).
    fn check_named_projects(&self, filter: &str) -> JiraResult<()> {
        let words: Vec<String> = tokens(filter);
        for (i, w) in words.iter().enumerate() {
            if !w.eq_ignore_ascii_case("project") {
                continue;
            }
            let values = match words.get(i + 1).map(String::as_str) {
                Some("=") => words.get(i + 2).into_iter().cloned().collect::<Vec<_>>(),
                Some(op) if op.eq_ignore_ascii_case("in") => words
                    .iter()
                    .skip(i + 3)
                    .take_while(|t| *t != ")")
                    .filter(|t| *t != ",")
                    .cloned()
                    .collect(),
                _ => continue,
            };
            if let Some(bad) = values.iter().find(|v| !self.allows(v)) {
                return Err(JiraError::OutOfScope {
                    what: format!("project {bad:?} in the JQL"),
                    allowed: self.list(),
                });
            }
        }
        Ok(())
    }
}

/// Words, quoted strings (unquoted) and the symbols `=`, `(`, `)`, `,`.
fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                let mut v = String::new();
                while let Some(x) = chars.next() {
                    match x {
                        '\\' => v.extend(chars.next()),
                        x if x == c => break,
                        x => v.push(x),
                    }
                }
                out.push(v);
            }
            '=' | '(' | ')' | ',' => out.push(c.to_string()),
            c if c.is_whitespace() => {}
            c => {
                let mut w = String::new();
                let mut next = Some(c);
                while let Some(x) = next {
                    // An escaped character belongs to the word, as in Jira's lexer.
                    if x == '\\' {
                        w.extend(chars.next());
                    } else {
                        w.push(x);
                    }
                    next = chars.next_if(|x| !x.is_whitespace() && !"=(),\"'".contains(*x));
                }
                out.push(w);
            }
        }
    }
    out
}

/// The filter and its `ORDER BY ...` (outside quotes), after checking the filter keeps its
/// parentheses balanced and its quotes closed.
fn split_order(jql: &str) -> JiraResult<(&str, Option<&str>)> {
    let bad = |why: &str| {
        JiraError::BadArgument(format!("the JQL {jql:?} {why}; nothing was sent to Jira"))
    };
    let mut depth: i64 = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut order_at = None;
    for (i, c) in jql.char_indices() {
        // Jira's lexer takes `\"` as a literal quote in an unquoted word too (`labels =
        // a\"`): escapes count outside quotes as well, or an escaped quote would open a
        // "string" here that Jira never sees, hiding a `)` that closes the wrapper early.
        if escaped {
            escaped = false;
            continue;
        }
        if c == '\\' {
            escaped = true;
            continue;
        }
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(bad("closes a parenthesis it did not open"));
                }
            }
            _ if order_at.is_none()
                && depth == 0
                && starts_order_by(&jql[i..])
                && (i == 0 || jql[..i].ends_with(char::is_whitespace)) =>
            {
                order_at = Some(i);
            }
            _ => {}
        }
    }
    if quote.is_some() {
        return Err(bad("has an unclosed quote"));
    }
    if depth != 0 {
        return Err(bad("has an unclosed parenthesis"));
    }
    Ok(match order_at {
        Some(i) => (&jql[..i], Some(jql[i..].trim())),
        None => (jql, None),
    })
}

fn starts_order_by(s: &str) -> bool {
    let words: Vec<&str> = s.split_whitespace().take(2).collect();
    words.len() == 2
        && words[0].eq_ignore_ascii_case("order")
        && words[1].eq_ignore_ascii_case("by")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> Projects {
        Projects::new(vec!["OPS".into(), "PAY".into()])
    }

    #[test]
    fn keys_are_checked() {
        assert_eq!(p().issue("ops-12").ok().as_deref(), Some("OPS-12"));
        assert!(matches!(
            p().issue("SEC-1"),
            Err(JiraError::OutOfScope { .. })
        ));
        assert!(matches!(p().issue("OPS"), Err(JiraError::BadArgument(_))));
        assert!(matches!(
            p().issue("OPS-1/../../SEC-1"),
            Err(JiraError::BadArgument(_))
        ));
        assert!(matches!(
            p().project("sec"),
            Err(JiraError::OutOfScope { .. })
        ));
    }

    #[test]
    fn a_moved_issue_is_judged_by_where_it_is_now() {
        let bean = |key: &str, project: &str| serde_json::json!({"id": "10005", "key": key, "fields": {"project": {"key": project}}});
        assert_eq!(
            p().resolved("OPS-5", &bean("PAY-9", "PAY")).ok(),
            Some(Resolved {
                key: "PAY-9".into(),
                id: "10005".into(),
                project: "PAY".into()
            })
        );
        for (key, project) in [("SEC-7", "SEC"), ("OPS-5", "SEC"), ("SEC-7", "OPS")] {
            assert!(
                matches!(
                    p().resolved("OPS-5", &bean(key, project)),
                    Err(JiraError::OutOfScope { .. })
                ),
                "{key} {project}"
            );
        }
        assert!(matches!(
            p().resolved("OPS-5", &serde_json::json!({"key": "OPS-5"})),
            Err(JiraError::BadArgument(_))
        ));
        // An id that is not a number would steer the write's path (issue/ID/comment).
        for id in [
            "../../../rest/api/3/issue/SEC-1",
            "10005?x=1",
            "10005/../1",
            "",
        ] {
            let bean = serde_json::json!({"id": id, "key": "OPS-5", "fields": {"project": {"key": "OPS"}}});
            assert!(
                matches!(p().resolved("OPS-5", &bean), Err(JiraError::BadArgument(_))),
                "{id}"
            );
        }
        assert_eq!(numeric_id(&serde_json::json!("31")).as_deref(), Some("31"));
        assert_eq!(numeric_id(&serde_json::json!(31)), None);
    }

    #[test]
    fn jql_is_wrapped_and_cannot_escape() {
        let ok = p().confine("status = \"In Progress\" OR labels = sev1 order by updated DESC");
        assert_eq!(
            ok.ok().as_deref(),
            Some(
                "project in (\"OPS\", \"PAY\") AND (status = \"In Progress\" OR labels = sev1) order by updated DESC"
            )
        );
        assert_eq!(
            p().confine("").ok().as_deref(),
            Some("project in (\"OPS\", \"PAY\") ORDER BY created DESC")
        );
        // A quoted ORDER BY or parenthesis is text, not syntax.
        assert!(
            p().confine("summary ~ \"order by ) x\"")
                .is_ok_and(|j| j.ends_with("ORDER BY created DESC"))
        );
        for escape in [
            "labels = x) OR (project = SEC",
            ") OR project = SEC OR (",
            "labels = \"x",
            "(labels = x",
            // Jira reads `a\"` as the word a" (no string opens): the `)` after it is live.
            r#"labels = a\" ) OR project = SEC OR ( labels = "b\" c""#,
            r#"labels = a\' ) OR project = SEC OR ( labels = 'b\' c'"#,
        ] {
            assert!(
                matches!(p().confine(escape), Err(JiraError::BadArgument(_))),
                "{escape}"
            );
        }
        for other in [
            "project = SEC",
            "project in (OPS, SEC)",
            "status = Done OR project = 'SEC'",
        ] {
            assert!(
                matches!(p().confine(other), Err(JiraError::OutOfScope { .. })),
                "{other}"
            );
        }
        assert!(p().confine("project = ops AND status = Done").is_ok());
        // Escapes outside quotes are words, as Jira reads them: the project is still seen.
        assert!(matches!(
            p().confine(r#"labels = a\" OR project = SEC"#),
            Err(JiraError::OutOfScope { .. })
        ));
        assert!(
            p().confine(r#"labels = a\(b AND summary ~ "x\" y""#)
                .is_ok()
        );
    }
}
