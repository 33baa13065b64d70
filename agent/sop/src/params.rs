//! The Strands parameter line: `- **name** (required|optional[, default: VALUE]): text`,
//! where VALUE is quoted (`"x"`, `'x'`) or bare (`true`, `3`, `current directory`).

/// A parameter line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamLine {
    pub name: String,
    pub required: bool,
    pub default: Option<String>,
    pub description: String,
}

/// Whether `line` is a top-level list item (`- x` or `* x`).
pub fn is_list_item(line: &str) -> bool {
    let t = line.trim_start_matches(' ');
    line.len() - t.len() <= 1
        && (t.starts_with("- ") || t.starts_with("* ") || t == "-" || t == "*")
}

/// Parses one parameter line, or says what is wrong with it.
pub fn parse_param_line(line: &str) -> Result<ParamLine, String> {
    const SHAPE: &str = "write `- **name** (required): description` or `- **name** (optional, default: \"value\"): description`";
    let item = line.trim_start().get(2..).unwrap_or("").trim_start();
    let rest = item
        .strip_prefix("**")
        .ok_or_else(|| format!("parameter line must start with a bold name; {SHAPE}"))?;
    let (name, rest) = rest
        .split_once("**")
        .ok_or_else(|| format!("the parameter name's bold is not closed; {SHAPE}"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("the parameter name is empty; {SHAPE}"));
    }
    let rest = rest.trim_start();
    let inner_start = rest.strip_prefix('(').ok_or_else(|| {
        format!("parameter {name:?} needs (required) or (optional) after its name; {SHAPE}")
    })?;
    let close = closing_paren(inner_start)
        .ok_or_else(|| format!("parameter {name:?}: the parenthesis is not closed; {SHAPE}"))?;
    let spec = &inner_start[..close];
    let after = inner_start[close + 1..].trim_start();
    let description = after
        .strip_prefix(':')
        .ok_or_else(|| {
            format!(
                "parameter {name:?} needs a ':' and a description after the parenthesis; {SHAPE}"
            )
        })?
        .trim()
        .to_owned();
    let (kind, default) = match spec.split_once(',') {
        Some((kind, more)) => {
            let more = more.trim();
            let value = more.strip_prefix("default:").ok_or_else(|| {
                format!(
                    "parameter {name:?}: expected `default: VALUE` after the comma, found {more:?}"
                )
            })?;
            (kind.trim(), Some(unquote(value.trim())))
        }
        None => (spec.trim(), None),
    };
    let required = match kind {
        "required" => true,
        "optional" => false,
        other => {
            return Err(format!(
                "parameter {name:?} is {other:?}; it must be `required` or `optional`"
            ));
        }
    };
    if required && default.is_some() {
        return Err(format!(
            "parameter {name:?} is required but has a default; make it optional or drop the default"
        ));
    }
    Ok(ParamLine {
        name: name.to_owned(),
        required,
        default,
        description,
    })
}

/// The index of the `)` closing the parenthesis whose content starts `s`, skipping quoted
/// text and nested parentheses.
fn closing_paren(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') if depth == 0 => return Some(i),
            (None, ')') => depth -= 1,
            (None, _) => {}
        }
    }
    None
}

fn unquote(v: &str) -> String {
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner.to_owned();
        }
    }
    v.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> ParamLine {
        parse_param_line(line).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    #[test]
    fn strands_forms() {
        let p = ok("- **namespace** (required): The namespace");
        assert_eq!(
            (p.name.as_str(), p.required, p.default.as_deref()),
            ("namespace", true, None)
        );
        let p = ok("- **output_dir** (optional, default: \".agents/summary\"): Where");
        assert_eq!(p.default.as_deref(), Some(".agents/summary"));
        let p = ok("- **consolidate** (optional, default: true): Whether");
        assert_eq!(p.default.as_deref(), Some("true"));
        let p = ok("- **codebase_path** (optional, default: current directory): Path");
        assert_eq!(p.default.as_deref(), Some("current directory"));
        let p = ok("- **f** (optional, default: \"a (b)\"): x");
        assert_eq!(p.default.as_deref(), Some("a (b)"));
        let p = ok("- **mode** (optional, default: 'auto'): The mode:");
        assert_eq!(
            (p.default.as_deref(), p.description.as_str()),
            (Some("auto"), "The mode:")
        );
        assert_eq!(ok("* **x** (optional):").description, "");
    }

    #[test]
    fn malformed_lines_say_why() {
        for (line, needle) in [
            ("- namespace (required): x", "bold name"),
            ("- **namespace (required): x", "not closed"),
            ("- **namespace**: x", "(required) or (optional)"),
            ("- **namespace** (required x", "not closed"),
            ("- **namespace** (required) x", "':'"),
            ("- **namespace** (mandatory): x", "`required` or `optional`"),
            (
                "- **namespace** (optional, defualt: 3): x",
                "default: VALUE",
            ),
            (
                "- **namespace** (required, default: 3): x",
                "required but has a default",
            ),
        ] {
            let err = parse_param_line(line).unwrap_err();
            assert!(err.contains(needle), "{line}: {err}");
        }
    }
}
