//! What a person asked the bot, in a mention or `/sopilot`: `run SOP k=v...`, `status [run]`,
//! `help`, or free text ("investigate payment-service"), for which an SOP is picked by
//! keywords — its name, title, description and trigger fields — and parameters are taken
//! from `k=v`, `name value` pairs and, when exactly one is missing, the one word left over.

use std::collections::{BTreeMap, BTreeSet};

use sopilot_sop::Sop;

/// A request to the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `run SOP k=v...`: an explicit SOP and parameters.
    Run {
        sop: String,
        params: BTreeMap<String, String>,
    },
    /// Anything else with words in it: pick an SOP for it.
    Free {
        text: String,
        params: BTreeMap<String, String>,
    },
    /// `status [run_id]`.
    Status(Option<String>),
    /// `help`, or nothing at all.
    Help,
}

/// A chosen SOP and the parameters found for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    pub sop: String,
    pub params: BTreeMap<String, String>,
}

/// Words that say nothing about which SOP is meant.
const STOP: &[&str] = &[
    "investigate",
    "investigation",
    "please",
    "look",
    "check",
    "help",
    "with",
    "the",
    "and",
    "for",
    "why",
    "what",
    "whats",
    "is",
    "are",
    "was",
    "into",
    "about",
    "our",
    "my",
    "on",
    "in",
    "at",
    "of",
    "to",
    "a",
    "an",
    "it",
    "can",
    "you",
    "sopilot",
    "going",
    "happening",
    "down",
    "broken",
    "issue",
    "problem",
    "namespace",
    "ns",
];

/// Drops `<@U…>` mentions and Slack's link markup, and trims.
pub fn strip_mentions(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let inner = &rest[start + 1..start + end];
        if !inner.starts_with('@') && !inner.starts_with('!') {
            // `<https://x|label>` and `<#C1|name>` keep their label (or target).
            out.push_str(inner.rsplit('|').next().unwrap_or(inner));
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn key_value(word: &str) -> Option<(String, String)> {
    let (k, v) = word.split_once('=')?;
    let ok = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then(|| (k.to_owned(), v.trim_matches(['"', '\'']).to_owned()))
}

/// Reads a request; an error says what is wrong with it.
pub fn parse(text: &str) -> Result<Request, String> {
    let text = strip_mentions(text);
    let words: Vec<&str> = text.split_whitespace().collect();
    let Some(first) = words.first() else {
        return Ok(Request::Help);
    };
    match first.to_ascii_lowercase().as_str() {
        "help" | "?" => Ok(Request::Help),
        "status" => Ok(Request::Status(words.get(1).map(|w| (*w).to_owned()))),
        "run" => {
            let Some(sop) = words.get(1).filter(|w| !w.contains('=')) else {
                return Err("`run` needs an SOP name: `run SOP name=value ...`".into());
            };
            let mut params = BTreeMap::new();
            for w in &words[2..] {
                let (k, v) = key_value(w)
                    .ok_or_else(|| format!("`{w}` is not a parameter; write them as name=value"))?;
                params.insert(k, v);
            }
            Ok(Request::Run {
                sop: (*sop).to_owned(),
                params,
            })
        }
        _ => Ok(Request::Free {
            params: words.iter().filter_map(|w| key_value(w)).collect(),
            text,
        }),
    }
}

fn parts(word: &str) -> impl Iterator<Item = String> + '_ {
    word.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| p.len() >= 3)
        .map(str::to_ascii_lowercase)
}

/// The words of an SOP, by weight: its name counts most, then its trigger fields, then its
/// title and description.
fn vocabulary(sop: &Sop) -> BTreeMap<String, u32> {
    let mut v: BTreeMap<String, u32> = BTreeMap::new();
    let mut add = |text: &str, weight: u32| {
        for p in parts(text) {
            let e = v.entry(p).or_default();
            *e = (*e).max(weight);
        }
    };
    add(&sop.name, 4);
    for rule in &sop.front.triggers {
        if let Some(s) = &rule.slack {
            s.keywords.iter().for_each(|k| add(k, 5));
        }
        if let Some(a) = &rule.alertmanager {
            a.alertname.iter().for_each(|n| add(n, 2));
        }
        if let Some(e) = &rule.kubernetes_event {
            e.reasons.iter().for_each(|r| add(r, 2));
        }
        if let Some(a) = &rule.cloudwatch_alarm {
            add(&a.name, 2);
        }
    }
    add(&sop.title, 2);
    add(sop.front.description.as_deref().unwrap_or(""), 1);
    v
}

fn score(sop: &Sop, text: &str) -> u32 {
    let vocab = vocabulary(sop);
    let lower = text.to_ascii_lowercase();
    let mut s: u32 = if lower.contains(&sop.name.to_ascii_lowercase()) {
        10
    } else {
        0
    };
    let words: BTreeSet<String> = text
        .split_whitespace()
        .filter(|w| !w.contains('='))
        .flat_map(parts)
        .filter(|w| !STOP.contains(&w.as_str()))
        .collect();
    for w in &words {
        // "crashlooping" finds "crashloop", "oomkilled" finds "oom".
        let hit = vocab.get(w).copied().or_else(|| {
            vocab
                .iter()
                .filter(|(k, _)| {
                    k.len() >= 4 && (w.starts_with(k.as_str()) || k.starts_with(w.as_str()))
                })
                .map(|(_, weight)| *weight)
                .max()
        });
        s += hit.unwrap_or(0);
    }
    s
}

fn missing(sop: &Sop, params: &BTreeMap<String, String>) -> Vec<String> {
    sop.parameters
        .iter()
        .filter(|p| p.required && p.default.is_none() && !params.contains_key(&p.name))
        .map(|p| p.name.clone())
        .collect()
}

/// Picks the SOP free text asks for and fills what parameters it can. The error is the
/// answer to give: no SOP fits, or which parameters are still needed and how to give them.
pub fn pick(sops: &[Sop], text: &str, given: &BTreeMap<String, String>) -> Result<Pick, String> {
    let mut ranked: Vec<(u32, &Sop)> = sops.iter().map(|s| (score(s, text), s)).collect();
    ranked.sort_by_key(|r| std::cmp::Reverse(r.0));
    let Some(&(best, sop)) = ranked.first().filter(|(s, _)| *s > 0) else {
        return Err("I could not tell which SOP fits that.".into());
    };
    if ranked.get(1).is_some_and(|(s, _)| *s == best) {
        let tied: Vec<String> = ranked
            .iter()
            .filter(|(s, _)| *s == best)
            .map(|(_, s)| format!("`{}`", s.name))
            .collect();
        return Err(format!(
            "That could be any of {}; say `run SOP name=value ...`.",
            tied.join(", ")
        ));
    }
    let declared: BTreeSet<&str> = sop.parameters.iter().map(|p| p.name.as_str()).collect();
    let mut params = given.clone();
    let words: Vec<&str> = text
        .split_whitespace()
        .filter(|w| !w.contains('='))
        .collect();
    let mut used = vec![false; words.len()];
    // `namespace payment`, `pod payment-7d8f`.
    for i in 0..words.len().saturating_sub(1) {
        let key = words[i].to_ascii_lowercase();
        if declared.contains(key.as_str()) && !used[i] && !params.contains_key(&key) {
            params.insert(key, words[i + 1].to_owned());
            used[i] = true;
            used[i + 1] = true;
        }
    }
    let vocab = vocabulary(sop);
    let mut left: Vec<&str> = words
        .iter()
        .zip(&used)
        .filter(|(w, u)| {
            let lw = w.to_ascii_lowercase();
            !**u && !STOP.contains(&lw.as_str())
                && !vocab.contains_key(&lw)
                && !declared.contains(lw.as_str())
        })
        .map(|(w, _)| *w)
        .collect();
    // `payment/payment-service`: a namespace and a name.
    if declared.contains("namespace")
        && !params.contains_key("namespace")
        && let Some(i) = left.iter().position(|w| w.contains('/'))
        && let Some((ns, name)) = left[i].split_once('/')
    {
        params.insert("namespace".into(), ns.to_owned());
        left[i] = name;
    }
    // `payment-service` fills `service`: a word naming the parameter it is.
    for name in missing(sop, &params) {
        if let Some(i) = left
            .iter()
            .position(|w| parts(w).any(|p| p == name) && w.to_ascii_lowercase() != name)
        {
            params.insert(name, left.remove(i).to_owned());
        }
    }
    let still = missing(sop, &params);
    if let ([name], [word]) = (still.as_slice(), left.as_slice()) {
        params.insert(name.clone(), (*word).to_owned());
    }
    let still = missing(sop, &params);
    if !still.is_empty() {
        let example: Vec<String> = sop
            .parameters
            .iter()
            .filter(|p| p.required || params.contains_key(&p.name))
            .map(|p| {
                format!(
                    "{}={}",
                    p.name,
                    params.get(&p.name).map_or("…", String::as_str)
                )
            })
            .collect();
        return Err(format!(
            "That sounds like `{}`, which needs {}. Say `run {} {}`.",
            sop.name,
            still.join(", "),
            sop.name,
            example.join(" ")
        ));
    }
    Ok(Pick {
        sop: sop.name.clone(),
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library() -> Vec<Sop> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sops");
        let mut sops = Vec::new();
        for name in ["pod-crashloop", "oom-killed", "complex-incident"] {
            let text = std::fs::read_to_string(root.join(format!("{name}.sop.md"))).unwrap();
            sops.push(sopilot_sop::load(name, &text).unwrap().0);
        }
        sops
    }

    fn kv(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn commands_parse() {
        assert_eq!(parse("<@U0SOPILOT>  ").unwrap(), Request::Help);
        assert_eq!(parse("help").unwrap(), Request::Help);
        assert_eq!(
            parse("<@U0SOPILOT> run pod-crashloop namespace=payment pod=\"p-1\"").unwrap(),
            Request::Run {
                sop: "pod-crashloop".into(),
                params: kv(&[("namespace", "payment"), ("pod", "p-1")])
            }
        );
        assert_eq!(
            parse("status run-1").unwrap(),
            Request::Status(Some("run-1".into()))
        );
        assert_eq!(parse("STATUS").unwrap(), Request::Status(None));
        assert!(parse("run").unwrap_err().contains("needs an SOP"));
        assert!(parse("run x oops").unwrap_err().contains("`oops`"));
        assert_eq!(
            parse("<@U1> investigate <https://x.io|payment-service> a=b").unwrap(),
            Request::Free {
                text: "investigate payment-service a=b".into(),
                params: kv(&[("a", "b")])
            }
        );
    }

    #[test]
    fn free_text_picks_by_keywords() {
        let sops = library();
        let p = pick(
            &sops,
            "pod payment-7d8f crashlooping in namespace payment",
            &BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(p.sop, "pod-crashloop");
        assert_eq!(
            p.params,
            kv(&[("namespace", "payment"), ("pod", "payment-7d8f")])
        );
        let p = pick(
            &sops,
            "why was payment/payment-api-1 OOMKilled",
            &BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(p.sop, "oom-killed");
        assert_eq!(
            p.params,
            kv(&[("namespace", "payment"), ("pod", "payment-api-1")])
        );
        // A service incident: the word naming the parameter fills it, the namespace is asked for.
        let e = pick(&sops, "investigate payment-service", &BTreeMap::new()).unwrap_err();
        assert!(
            e.contains("`complex-incident`") && e.contains("needs namespace"),
            "{e}"
        );
        assert!(e.contains("service=payment-service"), "{e}");
        let p = pick(
            &sops,
            "investigate payment-service",
            &kv(&[("namespace", "payment")]),
        )
        .unwrap();
        assert_eq!(p.sop, "complex-incident");
        assert_eq!(p.params["service"], "payment-service");
        assert!(
            pick(&sops, "hello there", &BTreeMap::new())
                .unwrap_err()
                .contains("could not tell")
        );
    }
}
