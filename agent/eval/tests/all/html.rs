//! The HTML report: self-contained (no script, no external asset), every chart's SVG and
//! every case present, text escaped; and, when a Chromium is installed, it renders without
//! console errors (skipped cleanly otherwise, except in CI, which installs one).

use std::path::PathBuf;
use std::process::Command;

use sopilot_eval::html::html;

use crate::results::results;

const CHARTS: [&str; 5] = [
    "chart-pass-rate",
    "chart-classes",
    "chart-tokens",
    "chart-latency",
    "chart-context",
];

#[test]
fn the_report_holds_every_chart_and_every_run() {
    let r = results();
    let page = html(&r);
    assert!(page.starts_with("<!doctype html>"));
    for id in CHARTS {
        assert!(page.contains(&format!("<svg id=\"{id}\"")), "{id}");
    }
    assert_eq!(page.matches("<svg ").count(), CHARTS.len());
    for x in &r.results {
        assert!(page.contains(&format!("data-case=\"{}\"", x.case)));
    }
    assert_eq!(page.matches("<tr class=\"").count(), r.results.len());
    assert!(page.contains("(safety violation)"));
    // Self-contained: no script, no fetched asset.
    for banned in ["<script", "src=", "href=", "@import", "url("] {
        assert!(!page.contains(banned), "{banned}");
    }
    // Bars for each model, and the legend names them.
    assert!(page.contains(">scripted:reference</text>"));
}

#[test]
fn text_is_escaped() {
    let mut r = results();
    r.results[0].failed_checks = vec!["<script>alert('x')</script> & \"more\"".into()];
    r.results[0].case = "a<b".into();
    let page = html(&r);
    assert!(!page.contains("<script>"));
    assert!(
        page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;")
    );
    assert!(page.contains("data-case=\"a&lt;b\""));
}

/// A Chromium to render with: `SOPILOT_CHROMIUM`, else a usual install path.
fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("SOPILOT_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

#[test]
fn it_renders_in_a_browser_without_console_errors() {
    let Some(browser) = chromium() else {
        // CI installs one and sets SOPILOT_REQUIRE_BROWSER, so there this cannot pass unrun.
        assert!(
            std::env::var_os("SOPILOT_REQUIRE_BROWSER").is_none(),
            "SOPILOT_REQUIRE_BROWSER is set but no Chromium was found (apt-get install chromium, or set SOPILOT_CHROMIUM)"
        );
        eprintln!("skipped: no Chromium (set SOPILOT_CHROMIUM or apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("eval.html");
    std::fs::write(&file, html(&results())).unwrap();
    let out = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
        ])
        .arg(format!("file://{}", file.display()))
        .env("HOME", dir.path())
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    for id in CHARTS {
        assert!(
            dom.contains(&format!("id=\"{id}\"")),
            "{id} not in the rendered DOM"
        );
    }
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught") || l.contains("error on line"))
        .collect();
    assert!(errors.is_empty(), "console errors:\n{}", errors.join("\n"));
}
