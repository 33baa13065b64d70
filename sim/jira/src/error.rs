//! Why a scenario's `jira` section cannot seed the simulator.

/// A problem in the `jira` scenario section, naming the field (`jira.issues[0].status`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JiraSimError {
    #[error("{field}: {message}")]
    Field { field: String, message: String },
}

impl JiraSimError {
    /// An error about `field` (relative to the section; `jira.` is prefixed).
    pub fn field(field: impl AsRef<str>, message: impl Into<String>) -> Self {
        let field = field.as_ref();
        JiraSimError::Field {
            field: if field.is_empty() {
                "jira".to_owned()
            } else {
                format!("jira.{field}")
            },
            message: message.into(),
        }
    }
}
