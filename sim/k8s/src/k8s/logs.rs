//! Container logs: the scenario's texts, and the `pods/log` subresource's options.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::obj;
use super::status::ApiStatus;
use crate::scenario::{LogSource, glob_match};
use crate::time;

/// The scenario's log texts.
#[derive(Debug, Clone, Default)]
pub struct LogBook {
    sources: Vec<LogSource>,
}

impl LogBook {
    pub fn new(sources: Vec<LogSource>) -> Self {
        LogBook { sources }
    }

    /// The text for one container: an exact pod name wins over a pattern, and a longer
    /// pattern over a shorter one.
    pub fn text(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        previous: bool,
    ) -> Option<&str> {
        self.sources
            .iter()
            .filter(|s| {
                s.namespace == namespace
                    && s.container == container
                    && s.previous == previous
                    && glob_match(&s.pod, pod)
            })
            .max_by_key(|s| (!s.pod.contains('*'), s.pod.len()))
            .map(|s| s.text.as_str())
    }
}

/// The query options of a log request.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub container: Option<String>,
    pub previous: bool,
    pub tail_lines: Option<i64>,
    pub since_seconds: Option<i64>,
    pub since_time: Option<DateTime<Utc>>,
    pub limit_bytes: Option<i64>,
    pub timestamps: bool,
}

impl LogOptions {
    /// Reads the options from query pairs; a malformed number is a 400.
    pub fn from_query(query: &[(String, String)]) -> Result<Self, ApiStatus> {
        let mut out = LogOptions::default();
        for (key, value) in query {
            let number = || {
                value.parse::<i64>().map_err(|_| {
                    ApiStatus::bad_request(format!("{key}: {value:?} is not a number"))
                })
            };
            match key.as_str() {
                "container" => out.container = Some(value.clone()).filter(|c| !c.is_empty()),
                "previous" => out.previous = value == "true",
                "timestamps" => out.timestamps = value == "true",
                "tailLines" => out.tail_lines = Some(number()?),
                "sinceSeconds" => out.since_seconds = Some(number()?),
                "limitBytes" => out.limit_bytes = Some(number()?),
                "sinceTime" => {
                    out.since_time = Some(time::parse(value).ok_or_else(|| {
                        ApiStatus::bad_request(format!(
                            "sinceTime: {value:?} is not an RFC 3339 time"
                        ))
                    })?)
                }
                _ => {}
            }
        }
        for (name, v) in [
            ("tailLines", out.tail_lines),
            ("limitBytes", out.limit_bytes),
        ] {
            if v.is_some_and(|n| n < 0) {
                return Err(ApiStatus::invalid(
                    "PodLogOptions",
                    "",
                    format!("{name}: must be greater than or equal to 0"),
                ));
            }
        }
        if out.since_seconds.is_some_and(|n| n < 1) {
            return Err(ApiStatus::invalid(
                "PodLogOptions",
                "",
                "sinceSeconds: must be greater than 0",
            ));
        }
        Ok(out)
    }
}

/// The log text of a container of `pod`, as the kubelet would serve it.
pub fn read(
    book: &LogBook,
    pod: &Value,
    options: &LogOptions,
    now: DateTime<Utc>,
) -> Result<String, ApiStatus> {
    let pod_name = obj::name(pod);
    let namespace = obj::namespace(pod);
    let containers: Vec<&str> = names(pod, "/spec/containers");
    let init: Vec<&str> = names(pod, "/spec/initContainers");
    let container = match &options.container {
        Some(c) => {
            if !containers.contains(&c.as_str()) && !init.contains(&c.as_str()) {
                return Err(ApiStatus::bad_request(format!(
                    "container {c} is not valid for pod {pod_name}"
                )));
            }
            c.clone()
        }
        None => match containers.as_slice() {
            [only] => (*only).to_owned(),
            _ => {
                let mut message = format!(
                    "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                    containers.join(" ")
                );
                if !init.is_empty() {
                    message.push_str(&format!(
                        " or one of the init containers: [{}]",
                        init.join(" ")
                    ));
                }
                return Err(ApiStatus::bad_request(message));
            }
        },
    };
    let status = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .and_then(|s| {
            s.iter()
                .find(|c| c.get("name").and_then(Value::as_str) == Some(&container))
        });
    let (start, end) = if options.previous {
        let terminated = status.and_then(|s| s.pointer("/lastState/terminated"));
        if terminated.is_none() {
            return Err(ApiStatus::bad_request(format!(
                "previous terminated container \"{container}\" in pod \"{pod_name}\" not found"
            )));
        }
        (
            terminated
                .and_then(|t| obj::str_at(t, "/startedAt"))
                .and_then(time::parse),
            terminated
                .and_then(|t| obj::str_at(t, "/finishedAt"))
                .and_then(time::parse),
        )
    } else {
        let state = status.and_then(|s| s.get("state"));
        if let Some(waiting) = state.and_then(|s| s.get("waiting")) {
            let reason = obj::str_at(waiting, "/reason").unwrap_or("ContainerCreating");
            // A crash-looping container still serves the log of its last run.
            let ran = status
                .and_then(|s| s.pointer("/lastState/terminated"))
                .is_some();
            if !ran {
                return Err(ApiStatus::bad_request(format!(
                    "container \"{container}\" in pod \"{pod_name}\" is waiting to start: {reason}"
                )));
            }
        }
        let started = state
            .and_then(|s| {
                obj::str_at(s, "/running/startedAt")
                    .or_else(|| obj::str_at(s, "/terminated/startedAt"))
            })
            .or_else(|| status.and_then(|s| obj::str_at(s, "/lastState/terminated/startedAt")))
            .and_then(time::parse);
        (started, None)
    };
    let text = book
        .text(namespace, pod_name, &container, options.previous)
        .unwrap_or("");
    let end = end.unwrap_or(now);
    let start = start
        .filter(|s| *s <= end)
        .unwrap_or_else(|| end.checked_sub_signed(Duration::minutes(10)).unwrap_or(end));
    Ok(shape(text, start, end, options, now))
}

fn names<'a>(pod: &'a Value, pointer: &str) -> Vec<&'a str> {
    pod.pointer(pointer)
        .and_then(Value::as_array)
        .map(|cs| cs.iter().filter_map(|c| obj::str_at(c, "/name")).collect())
        .unwrap_or_default()
}

/// Spreads the lines evenly between `start` and `end` (the scenario gives no per-line
/// times), then applies the since/tail/limit/timestamps options in the kubelet's order.
fn shape(
    text: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    options: &LogOptions,
    now: DateTime<Utc>,
) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let span = end - start;
    let count = lines.len().max(1) as i32;
    let stamped = lines.iter().enumerate().map(|(i, line)| {
        // Checked: a scenario may give an absurdly old start.
        let at = span
            .checked_mul(i as i32 + 1)
            .map(|d| d / count)
            .and_then(|d| start.checked_add_signed(d))
            .unwrap_or(end);
        (at, *line)
    });
    let since = options.since_time.or_else(|| {
        let seconds = options.since_seconds?;
        // A window longer than time itself is no window.
        Duration::try_seconds(seconds).and_then(|d| now.checked_sub_signed(d))
    });
    let kept: Vec<(DateTime<Utc>, &str)> = stamped
        .filter(|(at, _)| since.is_none_or(|s| *at >= s))
        .collect();
    let from = match options.tail_lines {
        Some(n) => kept
            .len()
            .saturating_sub(usize::try_from(n).unwrap_or(usize::MAX)),
        None => 0,
    };
    let mut out = String::new();
    for (at, line) in &kept[from..] {
        if options.timestamps {
            out.push_str(&time::rfc3339_nanos(*at));
            out.push(' ');
        }
        out.push_str(line);
        out.push('\n');
    }
    if let Some(limit) = options.limit_bytes {
        let mut cut = usize::try_from(limit).unwrap_or(usize::MAX).min(out.len());
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn book() -> LogBook {
        let src = |pod: &str, previous, text: &str| LogSource {
            namespace: "ns".into(),
            pod: pod.into(),
            container: "app".into(),
            previous,
            text: text.into(),
        };
        LogBook::new(vec![
            src("web-*", false, "generic\n"),
            src("web-1", false, "a\nb\nc\nd\n"),
            src("web-1", true, "boom\n"),
        ])
    }

    fn pod(containers: &[&str], restarted: bool) -> Value {
        let statuses: Vec<Value> = containers
            .iter()
            .map(|c| {
                let mut s = json!({"name": c, "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}});
                if restarted {
                    s["lastState"] = json!({"terminated": {"startedAt": "2025-12-31T23:00:00Z", "finishedAt": "2025-12-31T23:59:00Z"}});
                }
                s
            })
            .collect();
        json!({"metadata": {"name": "web-1", "namespace": "ns"},
               "spec": {"containers": containers.iter().map(|c| json!({"name": c})).collect::<Vec<_>>()},
               "status": {"containerStatuses": statuses}})
    }

    #[test]
    fn options_apply() {
        let now = time::parse("2026-01-01T00:10:00Z").unwrap();
        let all = read(&book(), &pod(&["app"], true), &LogOptions::default(), now).unwrap();
        assert_eq!(all, "a\nb\nc\nd\n");
        let tail = LogOptions {
            tail_lines: Some(2),
            ..Default::default()
        };
        assert_eq!(
            read(&book(), &pod(&["app"], true), &tail, now).unwrap(),
            "c\nd\n"
        );
        let since = LogOptions {
            since_seconds: Some(150),
            ..Default::default()
        };
        assert_eq!(
            read(&book(), &pod(&["app"], true), &since, now).unwrap(),
            "c\nd\n"
        );
        let limit = LogOptions {
            limit_bytes: Some(3),
            ..Default::default()
        };
        assert_eq!(
            read(&book(), &pod(&["app"], true), &limit, now).unwrap(),
            "a\nb"
        );
        let stamps = LogOptions {
            timestamps: true,
            tail_lines: Some(1),
            ..Default::default()
        };
        assert_eq!(
            read(&book(), &pod(&["app"], true), &stamps, now).unwrap(),
            "2026-01-01T00:10:00.000000000Z d\n"
        );
        let prev = LogOptions {
            previous: true,
            ..Default::default()
        };
        assert_eq!(
            read(&book(), &pod(&["app"], true), &prev, now).unwrap(),
            "boom\n"
        );
    }

    #[test]
    fn refusals() {
        let now = Utc::now();
        let err = read(
            &book(),
            &pod(&["app", "sidecar"], false),
            &LogOptions::default(),
            now,
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "a container name must be specified for pod web-1, choose one of: [app sidecar]"
        );
        let prev = LogOptions {
            previous: true,
            ..Default::default()
        };
        assert!(
            read(&book(), &pod(&["app"], false), &prev, now)
                .unwrap_err()
                .message
                .contains("previous terminated container")
        );
        let other = LogOptions {
            container: Some("nope".into()),
            ..Default::default()
        };
        assert!(read(&book(), &pod(&["app"], false), &other, now).is_err());
        let mut generic = pod(&["app"], false);
        generic["metadata"]["name"] = json!("web-2");
        assert_eq!(
            read(&book(), &generic, &LogOptions::default(), now).unwrap(),
            "generic\n"
        );
    }
}
