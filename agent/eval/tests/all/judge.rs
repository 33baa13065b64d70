//! The judge's answers: a score from 0 to 10 with a reason, inside any text; anything else
//! is a recorded failure.

use sopilot_eval::judge::{Judgement, parse};

#[test]
fn answers_are_read_wherever_the_object_is() {
    for text in [
        r#"{"score": 7, "reason": "names the revision"}"#,
        "Sure.\n```json\n{\"score\": 7.0, \"reason\": \"names the revision\\nsecond line\"}\n```",
    ] {
        assert_eq!(
            parse(text),
            Judgement::Scored {
                score: 7.0,
                reason: "names the revision".into()
            },
            "{text}"
        );
    }
}

#[test]
fn bad_answers_are_failures_saying_why() {
    for (text, why) in [
        ("I'd say seven.", "no JSON object"),
        (r#"{"score": 11, "reason": "x"}"#, "not between 0 and 10"),
        (r#"{"score": "high"}"#, "no numeric `score`"),
        (r#"{"score": 3,}"#, "trailing comma"),
    ] {
        match parse(text) {
            Judgement::Failed { error } => assert!(error.contains(why), "{text}: {error}"),
            other => panic!("{text}: {other:?}"),
        }
    }
}
