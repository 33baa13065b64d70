//! A Kubernetes Secret printed as YAML text (`kubectl get secret -o yaml` in a log, a
//! manifest in a ConfigMap): when the text has a `kind: Secret` line, every value under a
//! `data:` or `stringData:` block is masked, keys kept, whatever the keys are called.
//! Without a YAML parser this is by indentation: the block is the lines indented deeper
//! than its `data:` line. In a multi-document text every such block is masked.

use regex::Regex;

use crate::spans::Span;

pub(crate) struct Patterns {
    kind: Regex,
    data: Regex,
}

impl Patterns {
    pub fn compile() -> Option<Self> {
        Some(Self {
            kind: Regex::new(r#"(?m)^[ \t]*(?:-[ \t]+)?kind:[ \t]*["']?Secret["']?[ \t]*\r?$"#)
                .ok()?,
            data: Regex::new(r"(?m)^(?P<indent>[ \t]*(?:-[ \t]+)?)(?:data|stringData):[ \t]*\r?$")
                .ok()?,
        })
    }

    /// Pushes the value of every entry under `data:` and `stringData:` of a Secret.
    pub fn spans(&self, text: &str, out: &mut Vec<Span>) {
        if !self.kind.is_match(text) {
            return;
        }
        // A `data:` inside a block already masked is skipped (linear time).
        let mut scanned_to = 0;
        for c in self.data.captures_iter(text) {
            let (Some(whole), Some(indent)) = (c.get(0), c.name("indent")) else {
                continue;
            };
            if whole.start() >= scanned_to {
                scanned_to = block_values(text, whole.end(), indent.as_str().len(), out);
            }
        }
    }
}

/// The values of the lines after `from` indented deeper than `indent`; where they end.
fn block_values(text: &str, from: usize, indent: usize, out: &mut Vec<Span>) -> usize {
    let mut at = from;
    while at < text.len() {
        let start = at + 1;
        let end = text[start.min(text.len())..]
            .find('\n')
            .map_or(text.len(), |i| start + i);
        let line = &text[start.min(end)..end];
        at = end;
        if line.trim().is_empty() {
            continue;
        }
        let depth = line
            .bytes()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        if depth <= indent {
            return start;
        }
        // `key: value` masks the value; a line without one (a block scalar's body) whole;
        // a block scalar's indicator (`key: |`) stays.
        let value = line.find(": ").map_or(depth, |i| i + 2);
        let indicator = line[value..].trim_end().trim_start_matches(['|', '>']);
        if line[value..].trim_start().starts_with(['|', '>'])
            && indicator
                .bytes()
                .all(|b| matches!(b, b'-' | b'+' | b'0'..=b'9'))
        {
            continue;
        }
        out.extend(Span::new(start + value, end).trimmed(text));
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        Patterns::compile().unwrap().spans(text, &mut out);
        out.iter().map(|s| &text[s.start..s.end]).collect()
    }

    #[test]
    fn values_under_data_of_a_secret() {
        let text = "apiVersion: v1\ndata:\n  username: YWRtaW4=\n\n  tls.crt: |\n    QUJD\nkind: Secret\nmetadata:\n  name: x\n";
        assert_eq!(masked(text), ["YWRtaW4=", "QUJD"]);
    }

    #[test]
    fn items_of_a_list() {
        let text = "items:\n- apiVersion: v1\n  data:\n    host: ZGI=\n  kind: Secret\n";
        assert_eq!(masked(text), ["ZGI="]);
    }

    #[test]
    fn a_config_map_is_left() {
        assert!(masked("kind: ConfigMap\ndata:\n  host: db\n").is_empty());
    }
}
