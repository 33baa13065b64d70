//! STS's XML, as the Query protocol answers: `<OpResponse><OpResult>...</OpResult>
//! <ResponseMetadata><RequestId/></ResponseMetadata></OpResponse>`, and errors as
//! `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.

use serde_json::Value;

use crate::error::ApiError;

const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// A successful answer: the result's members (a JSON object) as elements.
pub(crate) fn response_xml(operation: &str, result: &Value, request_id: &str) -> String {
    let mut out = format!("<{operation}Response xmlns=\"{NAMESPACE}\">\n  <{operation}Result>");
    members(&mut out, result);
    out.push_str(&format!(
        "</{operation}Result>\n  <ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata>\n</{operation}Response>\n",
        escape(request_id)
    ));
    out
}

/// An error answer; `Sender` for client faults, `Receiver` for server faults.
pub(crate) fn error_xml(error: &ApiError, request_id: &str) -> String {
    let kind = if error.status >= 500 {
        "Receiver"
    } else {
        "Sender"
    };
    format!(
        "<ErrorResponse xmlns=\"{NAMESPACE}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n</ErrorResponse>\n",
        escape(&error.code),
        escape(&error.message),
        escape(request_id)
    )
}

/// An object's members as `<Key>value</Key>`, nested objects recursively.
fn members(out: &mut String, value: &Value) {
    let Some(map) = value.as_object() else {
        return;
    };
    for (key, v) in map {
        out.push_str(&format!("<{key}>"));
        match v {
            Value::Object(_) => members(out, v),
            Value::String(s) => out.push_str(&escape(s)),
            Value::Null => {}
            other => out.push_str(&escape(&other.to_string())),
        }
        out.push_str(&format!("</{key}>"));
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_members_and_escaping() {
        let xml = response_xml(
            "AssumeRole",
            &json!({"Credentials": {"AccessKeyId": "A<B"}}),
            "r-1",
        );
        assert!(xml.starts_with("<AssumeRoleResponse xmlns="));
        assert!(xml.contains(
            "<AssumeRoleResult><Credentials><AccessKeyId>A&lt;B</AccessKeyId></Credentials></AssumeRoleResult>"
        ));
        let e = error_xml(&ApiError::client("ValidationError", "x & y"), "r-2");
        assert!(e.contains("<Code>ValidationError</Code>") && e.contains("x &amp; y"));
    }
}
