//! Which Logs Insights queries and filter patterns SOPilot sends. Every result is redacted,
//! but the redactor judges a secret by its context (`password=...`), and a query can take
//! that context away or turn the logs into an oracle:
//!
//! - `parse @message "password=*" as p | display p` or `display substr(@message, 20, 12)`
//!   return the secret alone, which the redactor cannot recognise;
//! - `filter @message like /password=hunter2-a/ | stats count()` answers 1 or 0, and so
//!   reads a secret one character at a time (a filter pattern `%password=hunter2-a%` too).
//!
//! So before a query is sent: commands and functions that cut a line apart or test parts of
//! it are refused wherever they appear ([`CUTTING_COMMANDS`], [`CUTTING_FUNCTIONS`]); text
//! that names a credential or carries a credential's prefix or shape is refused anywhere in
//! the query ([`text`]), and in every text a regex literal can match ([`regex`]); a query
//! whose rows select fields (`fields`, `display`) is made to select the whole `@message`
//! too, so each value is redacted with its line as context ([`crate::context`]). Filter
//! patterns get the same text checks.
//!
//! Not caught: anchors that name no credential (the text around a secret, a timestamp that
//! isolates one line, a piece of a credential word shorter than four letters), which still
//! let a query test a line's text. Aggregations (`stats ... by`) are allowed and show whole
//! field values.

mod lex;
mod regex;
mod text;

use lex::{Tok, Token};

/// A query or filter pattern SOPilot does not send, and why (for the tool error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(String);

/// Logs Insights' own limit on a query's length.
const MAX_QUERY: usize = 10_000;
/// The longest filter pattern checked.
const MAX_PATTERN: usize = 1_024;

/// Commands that cut log lines apart, and what they do.
const CUTTING_COMMANDS: &[(&str, &str)] = &[
    ("parse", "extracts parts of a log line"),
    (
        "pattern",
        "splits log lines into patterns and their variable tokens",
    ),
    ("diff", "compares log patterns and their variable tokens"),
    ("anomaly", "reports log patterns and their variable tokens"),
    ("unnest", "splits a parsed JSON list into separate values"),
];

/// Functions that cut strings, test parts of them, or take JSON apart (lower case).
const CUTTING_FUNCTIONS: &[&str] = &[
    "substr",
    "replace",
    "strcontains",
    "strlen",
    "concat",
    "trim",
    "ltrim",
    "rtrim",
    "toupper",
    "tolower",
    "jsonparse",
    "jsonstringify",
    "unmask",
];

/// The query to send for `query`: the same, with `@message` added to its last `fields` or
/// `display` command when it selects fields; or why SOPilot does not run it.
pub fn check_query(query: &str) -> Result<String, Refusal> {
    if query.len() > MAX_QUERY {
        return Err(Refusal(format!(
            "the query is {} characters long; Logs Insights takes at most {MAX_QUERY}",
            query.len()
        )));
    }
    cutting_words(query)?;
    let tokens =
        lex::lex(query).map_err(|e| Refusal(format!("SOPilot could not read the query: {e}")))?;
    cutting_tokens(&tokens)?;
    if let Some(hint) = text::credential_hint(query) {
        return Err(Refusal(format!("the query {hint}")));
    }
    for t in &tokens {
        if let Tok::Regex(r) = &t.tok {
            check_regex(r)?;
        }
    }
    Ok(with_whole_message(query, &tokens))
}

/// Whether a `filter_log_events` pattern may be sent: none of its text, nor any text its
/// `%regex%` parts can match, names a credential or carries a credential's prefix or shape.
pub fn check_pattern(pattern: &str) -> Result<(), Refusal> {
    if pattern.len() > MAX_PATTERN {
        return Err(Refusal(format!(
            "the filter pattern is {} characters long; SOPilot checks at most {MAX_PATTERN}",
            pattern.len()
        )));
    }
    if let Some(hint) = text::credential_hint(pattern) {
        return Err(Refusal(format!("the filter pattern {hint}")));
    }
    for (i, part) in pattern.split('%').enumerate() {
        if i % 2 == 1 {
            check_regex(part)?;
        }
    }
    Ok(())
}

fn check_regex(r: &str) -> Result<(), Refusal> {
    let spellings = regex::spellings(r).map_err(|e| {
        Refusal(format!(
            "SOPilot cannot check the regex /{r}/ ({e}); use literal text, classes, alternatives and repetition"
        ))
    })?;
    match spellings.iter().find_map(|s| text::credential_hint(s)) {
        Some(hint) => Err(Refusal(format!(
            "the regex /{r}/ can match text that {hint}"
        ))),
        None => Ok(()),
    }
}

/// A cutting function named anywhere (even in a literal), or a cutting command at the start
/// of the query or after a pipe: read from the raw text, so no lexing difference hides them.
fn cutting_words(query: &str) -> Result<(), Refusal> {
    let words = query.split(|c: char| !(c.is_alphanumeric() || c == '_'));
    if let Some(f) = words
        .map(str::to_lowercase)
        .find(|w| CUTTING_FUNCTIONS.contains(&w.as_str()))
    {
        return Err(Refusal(format!(
            "the query uses `{f}`, a function that cuts or tests parts of a string"
        )));
    }
    for segment in query.split(['|', '\n']) {
        let first = segment
            .trim_start()
            .split(|c: char| !c.is_alphanumeric())
            .next()
            .unwrap_or_default();
        command_refusal(first)?;
    }
    Ok(())
}

/// A cutting command used as a word of the query (outside literals), wherever it is.
fn cutting_tokens(tokens: &[Token]) -> Result<(), Refusal> {
    for t in tokens {
        if let Tok::Word(w) = &t.tok {
            command_refusal(w)?;
        }
    }
    Ok(())
}

fn command_refusal(word: &str) -> Result<(), Refusal> {
    match CUTTING_COMMANDS
        .iter()
        .find(|(c, _)| word.eq_ignore_ascii_case(c))
    {
        Some((c, what)) => Err(Refusal(format!("the query uses `{c}`, which {what}"))),
        None => Ok(()),
    }
}

/// `query` with `, @message` after its last `display` command, or else its last `fields`
/// command, unless it selects `@message` already or the query aggregates (`stats`: its rows
/// are the aggregates, which have no `@message`).
fn with_whole_message(query: &str, tokens: &[Token]) -> String {
    let commands: Vec<&[Token]> = tokens.split(|t| t.tok == Tok::Pipe).collect();
    let named = |c: &[Token], cmd: &str| matches!(c.first().map(|t| &t.tok), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(cmd));
    if commands.iter().any(|c| named(c, "stats")) {
        return query.to_owned();
    }
    let target = ["display", "fields"]
        .iter()
        .find_map(|cmd| commands.iter().rev().find(|c| named(c, cmd)));
    match target {
        Some(c) if !selects_message(c) => {
            let end = c.last().map_or(0, |t| t.end);
            match (query.get(..end), query.get(end..)) {
                (Some(head), Some(tail)) if end > 0 => format!("{head}, @message{tail}"),
                _ => query.to_owned(),
            }
        }
        _ => query.to_owned(),
    }
}

/// Whether a `fields`/`display` command selects `@message` under its own name.
fn selects_message(command: &[Token]) -> bool {
    command.iter().enumerate().any(|(i, t)| {
        matches!(&t.tok, Tok::Word(w) if w.eq_ignore_ascii_case("@message"))
            && !matches!(command.get(i + 1).map(|n| &n.tok), Some(Tok::Word(a)) if a.eq_ignore_ascii_case("as"))
    })
}

#[cfg(test)]
mod tests;
