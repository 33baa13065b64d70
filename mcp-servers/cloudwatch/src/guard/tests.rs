#![allow(clippy::unwrap_used)]

use super::*;

fn refused(q: &str) -> String {
    match check_query(q) {
        Err(r) => r.to_string(),
        Ok(sent) => panic!("{q:?} should be refused, would send {sent:?}"),
    }
}

#[test]
fn queries_that_cut_a_line_apart_are_refused() {
    for (q, why) in [
        (r#"parse @message "password=*" as p | display p"#, "`parse`"),
        (r#"PARSE @message /(?<p>\S+)/ | display p"#, "`parse`"),
        (
            "fields @timestamp\n| Parse @message 'x * y' as a",
            "`parse`",
        ),
        ("display substr(@message, 20, 12)", "`substr`"),
        ("fields SubStr (@message, 1, 3) as s", "`substr`"),
        ("fields replace(@message, \"a\", \"b\")", "`replace`"),
        ("filter strcontains(@message, \"x\")", "`strcontains`"),
        ("stats count() by strlen(@message)", "`strlen`"),
        ("fields concat(@logStream, @message)", "`concat`"),
        (
            "fields trim(@message), ltrim(@message), rtrim(@message)",
            "`trim`",
        ),
        ("fields toupper(@message)", "`toupper`"),
        ("fields tolower(@message)", "`tolower`"),
        (
            "fields jsonParse(@message) as j | display j.a",
            "`jsonparse`",
        ),
        ("fields unmask(@message)", "`unmask`"),
        ("pattern @message", "`pattern`"),
        ("fields @message | diff", "`diff`"),
        ("fields @message | pattern @message | anomaly", "`pattern`"),
        ("fields a | unnest a into b", "`unnest`"),
        // A function name hidden in a literal still counts: the lexers may differ.
        (
            "filter @message like \"x\" | fields `y` # substr",
            "`substr`",
        ),
    ] {
        let r = refused(q);
        assert!(r.contains(why), "{q:?}: {r}");
    }
}

#[test]
fn oracles_anchored_on_a_credential_are_refused() {
    for q in [
        "filter @message like /password=hunter2-a/ | stats count() as n",
        "filter @message like /password=hunter2-b/ | stats count() as n",
        "filter @message not like /PASSWORD=h/",
        "filter @message =~ /p[a]ssw(o|0)rd=hunter2/",
        "filter @message like /(?i)pa.sword=h/",
        "filter @message like /p.ssw.rd=h/",
        r"filter @message like /pass\x77ord/",
        "filter @message like \"api_key=sk\"",
        "filter @message like /Authorization: Bearer ey/",
        "filter @message like /Bearer/ and @message like /=abc/",
        "filter @message like /gh(p|o)_/",
        "filter @message like /AKIA[A-Z0-9]{4}/",
        "filter @message like /sk_live_/",
        "filter @message like /-----BEGIN RSA/",
        "filter @message like /postgres:\\/\\/app:s3/",
        "filter db.password like /^h/",
        "filter @message >= \"secret=a\" and @message < \"secret=b\"",
        "filter @message in [\"token=abc\"]",
        "stats count() by headers.authorization",
    ] {
        let r = refused(q);
        assert!(
            r.contains("credential") || r.contains("URL with a user"),
            "{q:?}: {r}"
        );
    }
}

#[test]
fn regexes_that_cannot_be_checked_are_refused() {
    let r = refused("filter @message like /(?=x)y/");
    assert!(r.contains("cannot check the regex"), "{r}");
    let r = refused("filter @message like /abc");
    assert!(r.contains("could not read the query"), "{r}");
}

#[test]
fn everyday_queries_are_sent() {
    for q in [
        "filter @message like /OutOfMemoryError/ | stats count() as ooms by kubernetes.pod_name | sort ooms desc",
        "filter @message like /Exception|ERROR/ | stats count() as n by bin(5m)",
        "filter kubernetes.namespace_name = \"payment\" and @message like \"timed out\"",
        "filter @message like /5\\d\\d/ | stats count() by @logStream | limit 20",
        "stats count() as n by @message | sort n desc | limit 10",
        "filter @message like /Connection is not available/ | dedup @logStream | limit 5",
        "stats avg(bytes / 1024) as kib by bin(1h)",
        "filter @message not like /health/ | stats count(*) by kubernetes.pod_name",
        "filter isempty(kubernetes.pod_name) or isblank(@logStream)",
    ] {
        assert_eq!(check_query(q).as_deref(), Ok(q), "{q}");
    }
}

#[test]
fn selected_fields_come_with_the_whole_message() {
    for (q, sent) in [
        (
            "fields @timestamp, kubernetes.pod_name | limit 3",
            "fields @timestamp, kubernetes.pod_name, @message | limit 3",
        ),
        (
            "fields @timestamp, log | filter log like /ERROR/ | display log # why",
            "fields @timestamp, log | filter log like /ERROR/ | display log, @message # why",
        ),
        (
            "display cfg.value\n| sort @timestamp desc",
            "display cfg.value, @message\n| sort @timestamp desc",
        ),
        (
            "fields @message as m, @timestamp",
            "fields @message as m, @timestamp, @message",
        ),
        // Already whole, or after an aggregation (no @message there): unchanged.
        ("fields @timestamp, @message", "fields @timestamp, @message"),
        (
            "fields kubernetes.pod_name as pod | stats count() as n by pod | display pod, n",
            "fields kubernetes.pod_name as pod | stats count() as n by pod | display pod, n",
        ),
        (
            "display kubernetes.pod_name | STATS count() by kubernetes.pod_name",
            "display kubernetes.pod_name | STATS count() by kubernetes.pod_name",
        ),
        ("filter @message like /x/", "filter @message like /x/"),
    ] {
        assert_eq!(check_query(q).as_deref(), Ok(sent), "{q}");
    }
}

#[test]
fn filter_patterns_naming_a_credential_are_refused() {
    for p in [
        "%password=hunter2-att%",
        "\"password=hunter2\"",
        "?token ?ERROR",
        "%p[a]ssw.rd%",
        "{ $.user.password = \"h*\" }",
        "{ $.env.name = \"DB_PASSWORD\" }",
        "-secret",
        "%Bearer [a-z]%",
        "%(?=x)%",
    ] {
        assert!(check_pattern(p).is_err(), "{p:?} should be refused");
    }
    for p in [
        "?ERROR ?Exception ?timeout",
        "ERROR",
        "CannotGetJdbcConnectionException",
        "\"Connection is not available\"",
        "%5[0-9][0-9]%",
        "{ $.latency > 1000 }",
        "[ip, user, status=5*]",
    ] {
        assert_eq!(check_pattern(p), Ok(()), "{p:?} should pass");
    }
}
