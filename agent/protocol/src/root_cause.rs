//! The report's machine-readable root cause: the cause classes (`docs/eval.md`) and the
//! fenced JSON block a model ends its report with, parsed strictly so that grading never
//! reads prose:
//!
//! ````markdown
//! ```json
//! {"root_cause": {"class": "config-change", "summary": "Revision 15 set DB_POOL_SIZE=10", "confidence": 0.9}}
//! ```
//! ````

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

macro_rules! cause_classes {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// What kind of cause an incident had; one of a fixed list so runs can be compared.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum CauseClass {
            $(#[serde(rename = $name)] $variant,)+
        }

        impl CauseClass {
            /// Every class, in the order `docs/eval.md` lists them.
            pub const ALL: &'static [CauseClass] = &[$(CauseClass::$variant),+];

            /// The class's name in reports, cases and JSON (`config-change`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(CauseClass::$variant => $name,)+
                }
            }
        }
    };
}

cause_classes! {
    ConfigChange => "config-change",
    BadRollout => "bad-rollout",
    OomLimit => "oom-limit",
    MemoryLeak => "memory-leak",
    NodePressure => "node-pressure",
    InsufficientCapacity => "insufficient-capacity",
    SchedulingConstraint => "scheduling-constraint",
    Storage => "storage",
    ImagePull => "image-pull",
    PdbBlocked => "pdb-blocked",
    HpaAtMax => "hpa-at-max",
    NetworkPolicy => "network-policy",
    Dns => "dns",
    DbConnections => "db-connections",
    Readiness => "readiness",
    LivenessProbe => "liveness-probe",
    MissingConfig => "missing-config",
    CostSpike => "cost-spike",
    SpotInterruption => "spot-interruption",
    AzGrayFailure => "az-gray-failure",
    ForecastPeak => "forecast-peak",
    NoisyNeighbour => "noisy-neighbour",
    Certificate => "certificate",
    Dependency => "dependency",
    NoIncident => "no-incident",
    Unknown => "unknown",
}

impl CauseClass {
    /// Every class name, comma-separated (for prompts and error messages).
    pub fn list() -> String {
        CauseClass::ALL
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for CauseClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a cause class.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a cause class; use one of: {list}", list = CauseClass::list())]
pub struct UnknownCauseClass(pub String);

impl FromStr for CauseClass {
    type Err = UnknownCauseClass;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CauseClass::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCauseClass(s.to_owned()))
    }
}

/// The model's conclusion, as its report's JSON block states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootCause {
    pub class: CauseClass,
    /// One or two sentences naming the cause.
    pub summary: String,
    /// How sure the model is, from 0 to 1.
    pub confidence: f64,
}

/// Why a report yields no root cause.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RootCauseError {
    #[error(
        "the report has no root-cause block (a fenced ```json block holding {{\"root_cause\": {{...}}}})"
    )]
    Missing,
    #[error(
        "the report's root-cause block is malformed: {0}; expected {{\"root_cause\": {{\"class\": CLASS, \"summary\": TEXT, \"confidence\": 0..1}}}}"
    )]
    Malformed(String),
}

impl RootCause {
    /// The root cause of a report: its last fenced JSON block that mentions `root_cause`.
    /// Whitespace around fences and inside the block does not matter; the shape does
    /// (class from the list, summary a non-empty string, confidence a number from 0 to 1).
    pub fn from_report(text: &str) -> Result<RootCause, RootCauseError> {
        let block = fenced_blocks(text)
            .into_iter()
            .rev()
            .find(|b| b.contains("root_cause"))
            .ok_or(RootCauseError::Missing)?;
        let value: Value = serde_json::from_str(block.trim())
            .map_err(|e| RootCauseError::Malformed(format!("not JSON ({e})")))?;
        Self::from_value(&value).map_err(RootCauseError::Malformed)
    }

    /// Checks the shape of `{"root_cause": {...}}`.
    fn from_value(value: &Value) -> Result<RootCause, String> {
        let rc = value
            .get("root_cause")
            .ok_or("no `root_cause` key at the top")?;
        let rc = rc.as_object().ok_or("`root_cause` is not an object")?;
        let class = match rc.get("class") {
            Some(Value::String(s)) => s.trim().parse::<CauseClass>().map_err(|e| e.to_string())?,
            Some(_) => return Err("`class` is not a string".into()),
            None => return Err("`class` is missing".into()),
        };
        let summary = match rc.get("summary") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            Some(Value::String(_)) => return Err("`summary` is empty".into()),
            Some(_) => return Err("`summary` is not a string".into()),
            None => return Err("`summary` is missing".into()),
        };
        let confidence = match rc.get("confidence") {
            Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
            Some(_) => return Err("`confidence` is not a number".into()),
            None => return Err("`confidence` is missing".into()),
        };
        if !(0.0..=1.0).contains(&confidence) {
            return Err(format!("`confidence` {confidence} is not between 0 and 1"));
        }
        Ok(RootCause {
            class,
            summary,
            confidence,
        })
    }
}

/// The contents of every fenced code block tagged `json` (any case) or untagged, in order.
/// A fence may be indented (inside a list) and may be ``` or longer.
fn fenced_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, bool, Vec<&str>)> = None;
    for line in text.lines() {
        let t = line.trim();
        let ticks = t.chars().take_while(|c| *c == '`').count();
        match &mut open {
            None if ticks >= 3 => {
                let tag = t[ticks..].trim();
                let wanted = tag.is_empty() || tag.eq_ignore_ascii_case("json");
                open = Some((ticks, wanted, Vec::new()));
            }
            None => {}
            Some((n, wanted, body)) => {
                if ticks >= *n && t[ticks..].trim().is_empty() {
                    if *wanted {
                        blocks.push(body.join("\n"));
                    }
                    open = None;
                } else {
                    body.push(line);
                }
            }
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn parse(text: &str) -> Result<RootCause, RootCauseError> {
        RootCause::from_report(text)
    }

    #[test]
    fn the_last_json_block_with_a_root_cause_wins() {
        let text = "## Summary\nx\n```json\n{\"root_cause\": {\"class\": \"dns\", \"summary\": \"old\", \"confidence\": 0.2}}\n```\n\
            ```yaml\nroot_cause: no\n```\n   ```JSON  \n  {\"root_cause\":\n   {\"class\": \"config-change\", \"summary\": \" Revision 15 cut the pool \", \"confidence\": 1}}\n   ```\n\
            ```json\n{\"other\": 1}\n```\n";
        let rc = parse(text).unwrap();
        assert_eq!(rc.class, CauseClass::ConfigChange);
        assert_eq!(rc.summary, "Revision 15 cut the pool");
        assert_eq!(rc.confidence, 1.0);
        // Untagged fences count; four backticks close only with four.
        let rc = parse("````\n{\"root_cause\": {\"class\": \"unknown\", \"summary\": \"s\", \"confidence\": 0}}\n````").unwrap();
        assert_eq!(rc.class, CauseClass::Unknown);
    }

    #[test]
    fn malformed_blocks_say_what_is_wrong() {
        let cases = [
            (
                r#"{"root_cause": {"class": "dns", "summary": "s", "confidence": 1.5}}"#,
                "between 0 and 1",
            ),
            (
                r#"{"root_cause": {"class": "cosmic-rays", "summary": "s", "confidence": 0.5}}"#,
                "not a cause class",
            ),
            (
                r#"{"root_cause": {"class": "dns", "summary": 3, "confidence": 0.5}}"#,
                "`summary` is not a string",
            ),
            (
                r#"{"root_cause": {"class": "dns", "summary": " ", "confidence": 0.5}}"#,
                "`summary` is empty",
            ),
            (
                r#"{"root_cause": {"class": "dns", "summary": "s"}}"#,
                "`confidence` is missing",
            ),
            (
                r#"{"root_cause": {"class": "dns", "summary": "s", "confidence": "high"}}"#,
                "not a number",
            ),
            (
                r#"{"root_cause": {"summary": "s", "confidence": 0.5}}"#,
                "`class` is missing",
            ),
            (r#"{"root_cause": "dns"}"#, "not an object"),
            (r#"{"root_cause": {"class": "dns", "#, "not JSON"),
            (r#"{"cause": 1, "x": "root_cause"}"#, "no `root_cause` key"),
        ];
        for (block, why) in cases {
            let err = parse(&format!("text\n```json\n{block}\n```\n")).unwrap_err();
            assert!(matches!(err, RootCauseError::Malformed(_)), "{block}");
            assert!(err.to_string().contains(why), "{block}: {err}");
        }
    }

    #[test]
    fn no_block_is_missing() {
        for text in [
            "",
            "## Root cause\nThe pool (root_cause: config).",
            "```json\n{\"a\": 1}\n```",
            "```json\n{\"root_cause\": {}}",
        ] {
            assert_eq!(parse(text), Err(RootCauseError::Missing), "{text}");
        }
    }

    #[test]
    fn classes_round_trip_by_name() {
        assert_eq!(CauseClass::ALL.len(), 26);
        for c in CauseClass::ALL {
            assert_eq!(c.as_str().parse::<CauseClass>().unwrap(), *c);
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        assert!(CauseClass::list().starts_with("config-change, bad-rollout"));
        assert!("Config-Change".parse::<CauseClass>().is_err());
    }
}
