//! The parser, linter and renderer never panic, whatever the text.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use proptest::prelude::*;
use sopilot_sop::{parse, render};

fn corpus() -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out = Vec::new();
    for dir in [root.join("sops"), root.join("agent/sop/tests/fixtures")] {
        for e in std::fs::read_dir(dir).unwrap() {
            out.push(std::fs::read_to_string(e.unwrap().path()).unwrap());
        }
    }
    out
}

/// Parses, and renders with every parameter set, which must not panic either.
fn exercise(text: &str) {
    let (sop, _) = parse("fuzz", text);
    let params: BTreeMap<String, String> = sop
        .parameters
        .iter()
        .map(|p| (p.name.clone(), "{{ x }} \"' }}".to_owned()))
        .collect();
    let _ = render(&sop, &params, None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_text(text in "\\PC{0,400}") {
        exercise(&text);
    }

    #[test]
    fn markdownish_text(text in "(#{1,4} |- |\\*\\*|```|~~~|---|\\{\\{|\\}\\}|[a-z :\\n(),.\"])*") {
        exercise(&text);
    }

    #[test]
    fn mutated_sops(which in any::<prop::sample::Index>(), edits in prop::collection::vec((any::<prop::sample::Index>(), 0..8usize, "(```|---|\\{\\{|\\}\\}|[-*#:{}\\[\\]\"' \\n(a-z0-9.|%])*"), 1..8)) {
        let docs = corpus();
        let mut text = docs[which.index(docs.len())].clone().into_bytes();
        for (at, del, insert) in edits {
            let i = at.index(text.len().max(1)).min(text.len());
            let end = (i + del).min(text.len());
            text.splice(i..end, insert.bytes());
        }
        exercise(&String::from_utf8_lossy(&text));
    }
}
