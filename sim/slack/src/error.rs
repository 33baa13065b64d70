//! Why a scenario's `slack` section cannot seed the simulator.

/// A problem in the `slack` scenario section, naming the field (`slack.channels[1].name`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlackSimError {
    /// A field has the wrong type or an unknown key; `field` is the path to it.
    #[error("{field}: {message}")]
    Field { field: String, message: String },
}

impl SlackSimError {
    /// An error about the field at `path` (relative to the section; `slack.` is prefixed).
    pub fn field(path: impl AsRef<str>, message: impl Into<String>) -> Self {
        let path = path.as_ref();
        let field = if path.is_empty() || path == "." {
            "slack".to_owned()
        } else if path.starts_with('[') {
            format!("slack{path}")
        } else {
            format!("slack.{}", path.trim_start_matches('.'))
        };
        SlackSimError::Field {
            field,
            message: message.into(),
        }
    }
}
