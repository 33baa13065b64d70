//! Outputs an SRE reads at a glance and a model reads cheaply.

use std::fmt::Write as _;

/// A plain-text table with aligned columns.
#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new<I, S>(headers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are blank, extra cells are dropped.
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut row: Vec<String> = cells.into_iter().map(Into::into).collect();
        row.resize(self.headers.len(), String::new());
        self.rows.push(row);
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Renders with two spaces between columns and no trailing spaces.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
                if i + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    let _ = write!(line, "{cell:<w$}  ");
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Text cut to a byte budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capped {
    pub text: String,
    pub truncated: bool,
    pub omitted_bytes: usize,
}

/// Cuts `text` to at most `max_bytes` (on a line boundary when one is near, never inside a
/// character) and says so explicitly, with `hint` telling the reader how to narrow the query.
pub fn cap(text: &str, max_bytes: usize, hint: &str) -> Capped {
    if text.len() <= max_bytes {
        return Capped {
            text: text.to_owned(),
            truncated: false,
            omitted_bytes: 0,
        };
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if let Some(nl) = text[..end].rfind('\n').filter(|nl| *nl >= end / 2) {
        end = nl + 1;
    }
    let omitted = text.len() - end;
    let mut out = text[..end].to_owned();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    let _ = write!(out, "[truncated: {omitted} more bytes not shown; {hint}]");
    Capped {
        text: out,
        truncated: true,
        omitted_bytes: omitted,
    }
}

/// Keeps the end of `text` (the newest lines of a log) within `max_bytes`, saying at the
/// top how much earlier text was left out.
pub fn cap_tail(text: &str, max_bytes: usize, hint: &str) -> Capped {
    if text.len() <= max_bytes {
        return Capped {
            text: text.to_owned(),
            truncated: false,
            omitted_bytes: 0,
        };
    }
    let mut start = text.len() - max_bytes;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    if let Some(nl) = text[start..].find('\n').filter(|nl| *nl < max_bytes / 2) {
        start += nl + 1;
    }
    let out = format!(
        "[truncated: {start} earlier bytes not shown; {hint}]\n{}",
        &text[start..]
    );
    Capped {
        text: out,
        truncated: true,
        omitted_bytes: start,
    }
}

/// A Kubernetes-style age: `45s`, `12m`, `3h`, `5d`.
pub fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align() {
        let mut t = Table::new(["NAME", "READY", "STATUS"]);
        t.row(["payment-1", "1/1", "Running"]);
        t.row(["p", "0/1"]);
        assert_eq!(
            t.render(),
            "NAME       READY  STATUS\npayment-1  1/1    Running\np          0/1\n"
        );
    }

    #[test]
    fn caps_say_so() {
        let text = "line one\nline two\nline three\n";
        let c = cap(text, 20, "use tail_lines");
        assert!(c.truncated);
        assert!(c.text.starts_with("line one\nline two\n"));
        assert!(
            c.text
                .ends_with("[truncated: 11 more bytes not shown; use tail_lines]"),
            "{}",
            c.text
        );
        assert_eq!(cap(text, 100, "x").text, text);
        let c = cap("ééééé", 3, "x");
        assert!(c.text.starts_with("é\n"));
    }

    #[test]
    fn tail_caps_keep_the_end() {
        let c = cap_tail("old line\nnewer line\nnewest\n", 20, "use grep");
        assert!(c.truncated);
        assert!(
            c.text
                .starts_with("[truncated: 9 earlier bytes not shown; use grep]\nnewer line"),
            "{}",
            c.text
        );
        assert_eq!(cap_tail("short", 20, "x").text, "short");
    }

    #[test]
    fn ages() {
        assert_eq!(
            (age(5), age(600), age(10_800), age(864_000), age(-3)),
            (
                "5s".into(),
                "10m".into(),
                "3h".into(),
                "10d".into(),
                "0s".into()
            )
        );
    }

    proptest::proptest! {
        #[test]
        fn cap_never_exceeds_budget_plus_marker(s in "\\PC{0,300}", max in 1usize..200) {
            let c = cap(&s, max, "h");
            let body = c.text.split("[truncated:").next().unwrap_or_default();
            proptest::prop_assert!(body.len() <= max + 1);
        }
    }
}
