//! The gate's three outcomes, ordered by strictness so that combining is `max()`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What the gate does with one tool call. `Allow < Escalate < Deny`: the strictest wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Run it.
    Allow,
    /// Ask a human; run it only if they approve.
    Escalate,
    /// Never run it.
    Deny,
}

impl Decision {
    /// All decisions, least strict first.
    pub const ALL: [Decision; 3] = [Decision::Allow, Decision::Escalate, Decision::Deny];

    /// The lowercase name used in policy files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Escalate => "escalate",
            Decision::Deny => "deny",
        }
    }

    /// The decision when no human can be reached: escalate becomes deny.
    pub fn without_approver(self) -> Decision {
        match self {
            Decision::Allow => Decision::Allow,
            Decision::Escalate | Decision::Deny => Decision::Deny,
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A decision name that is not `allow`, `escalate` or `deny`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown decision {0:?}; use allow, escalate or deny")]
pub struct UnknownDecision(pub String);

impl FromStr for Decision {
    type Err = UnknownDecision;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Decision::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| UnknownDecision(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictness_order_and_combination() {
        assert!(Decision::Allow < Decision::Escalate && Decision::Escalate < Decision::Deny);
        assert_eq!(
            [Decision::Allow, Decision::Deny, Decision::Escalate]
                .into_iter()
                .max(),
            Some(Decision::Deny)
        );
        assert_eq!(Decision::Escalate.without_approver(), Decision::Deny);
        assert_eq!(Decision::Allow.without_approver(), Decision::Allow);
    }

    #[test]
    fn names_round_trip() {
        for d in Decision::ALL {
            assert_eq!(d.as_str().parse::<Decision>().unwrap(), d);
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(json, format!("\"{d}\""));
            assert_eq!(serde_json::from_str::<Decision>(&json).unwrap(), d);
        }
        assert!("Allow".parse::<Decision>().is_err());
    }
}
