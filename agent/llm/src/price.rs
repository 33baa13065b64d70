//! Token prices, from the configuration, to report a run's cost.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Usage;

/// USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Price {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
}

/// Prices by model name (`openai:gpt-4.1`, or a prefix such as `openai:`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PriceTable(pub BTreeMap<String, Price>);

impl PriceTable {
    /// The cost of `usage` on `model`: the longest matching key wins; unknown models cost
    /// nothing we can name (`None`).
    pub fn cost(&self, model: &str, usage: Usage) -> Option<f64> {
        let price = self
            .0
            .iter()
            .filter(|(k, _)| model.starts_with(k.as_str()))
            .max_by_key(|(k, _)| k.len())?
            .1;
        Some(
            (usage.input as f64 * price.input_per_mtok
                + usage.output as f64 * price.output_per_mtok)
                / 1e6,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins() {
        let mut t = PriceTable::default();
        t.0.insert(
            "openai:".into(),
            Price {
                input_per_mtok: 1.0,
                output_per_mtok: 1.0,
            },
        );
        t.0.insert(
            "openai:gpt-4.1".into(),
            Price {
                input_per_mtok: 2.0,
                output_per_mtok: 8.0,
            },
        );
        assert_eq!(
            t.cost(
                "openai:gpt-4.1",
                Usage {
                    input: 1_000_000,
                    output: 500_000
                }
            ),
            Some(6.0)
        );
        assert_eq!(
            t.cost(
                "openai:other",
                Usage {
                    input: 1_000_000,
                    output: 0
                }
            ),
            Some(1.0)
        );
        assert_eq!(t.cost("bedrock:x", Usage::default()), None);
    }
}
