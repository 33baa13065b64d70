//! The crate's one error type. Messages are read by people and by the model
//! driving a `correlate` tool, so each says what to change.

/// Why a correlation analysis could not run at all. Problems of a single
/// candidate (flat, too few points) are not errors: they are that
/// candidate's [`crate::Status`].
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CorrelateError {
    /// The symptom has no finite datapoint.
    #[error(
        "the symptom series has no datapoints; pick a window in which the symptom metric reported"
    )]
    EmptySymptom,
    /// The grid step could not be chosen or was given as zero.
    #[error("invalid step: {0}")]
    InvalidStep(String),
    /// The window over all series, at this step, is too many grid points.
    #[error(
        "the series span {points} grid points at {step_seconds} s steps, at most {max} are analysed; use a larger step or a shorter window"
    )]
    TooManyPoints {
        /// Grid points the span would need.
        points: u64,
        /// The step in seconds.
        step_seconds: u64,
        /// The most grid points allowed ([`crate::MAX_GRID_POINTS`]).
        max: usize,
    },
    /// An option is out of range.
    #[error("invalid option: {0}")]
    InvalidOption(String),
}
