//! The web console in a real browser, and the newcomer's one command.
//!
//! `console_in_a_real_browser` starts `sopilot serve --simulate scenarios/demo.yaml` (the demo
//! incident, with the script of `tests/browser/console-script.yaml` so that a second run
//! escalates too) and runs `tests/browser/console.spec.mjs` with Node: Debian's chromium
//! driven by `playwright-core` (installed by `scripts/test` into
//! `~/.cache/sopilot-browser`). It signs in, watches the run appear live, approves the HPA
//! change and sees it execute, denies a second run's, and is refused as a viewer and without
//! the CSRF token. Screenshots go to `target/tmp/console-screenshots` (or
//! `$SOPILOT_SCREENSHOTS`). Without chromium or playwright-core the test is skipped, loudly,
//! except in CI (`CI=true`, or `SOPILOT_REQUIRE_BROWSER=1`), where it fails.
//!
//! `demo_serve_waits_for_a_person` runs `sopilot demo --serve`: it prints the sign-in page and
//! a one-time code (no token in a URL) that signs in once, keeps its files in a private
//! directory it removes when stopped, the alarm arrives by itself, and the escalation waits in
//! the inbox.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::support::{repo, spawn};

const APPROVER: &str = "approver-secret-for-the-console-test";
const VIEWER: &str = "viewer-secret-for-the-console-test";
const EVENTBRIDGE: &str = "eventbridge-secret-for-the-console-test";

fn chromium() -> Option<PathBuf> {
    let given = std::env::var_os("SOPILOT_CHROMIUM").map(PathBuf::from);
    given
        .into_iter()
        .chain(["/usr/bin/chromium", "/usr/bin/chromium-browser"].map(PathBuf::from))
        .find(|p| p.exists())
}

fn playwright() -> Option<PathBuf> {
    let dir = std::env::var_os("SOPILOT_BROWSER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/tmp".into()))
                .join(".cache/sopilot-browser")
        });
    let pkg = dir.join("node_modules/playwright-core");
    pkg.join("package.json").exists().then_some(pkg)
}

/// The browser and its driver, or `None` (skipped, said loudly) outside CI.
fn tools() -> Option<(PathBuf, PathBuf)> {
    match (chromium(), playwright()) {
        (Some(c), Some(p)) => Some((c, p)),
        (c, p) => {
            let why = format!(
                "the console's browser test needs Debian's chromium (found: {c:?}; apt-get install chromium) and playwright-core (found: {p:?}; scripts/test installs it into ~/.cache/sopilot-browser)"
            );
            let required = std::env::var("CI").as_deref() == Ok("true")
                || std::env::var("SOPILOT_REQUIRE_BROWSER").as_deref() == Ok("1");
            assert!(!required, "{why}");
            eprintln!("SKIPPED: {why}");
            None
        }
    }
}

fn write_config(dir: &Path) -> PathBuf {
    std::fs::write(dir.join("you.token"), APPROVER).unwrap();
    std::fs::write(dir.join("viewer.token"), VIEWER).unwrap();
    let config = dir.join("sopilot.yaml");
    let d = dir.display();
    let script = repo().join("tests/browser/console-script.yaml");
    std::fs::write(
        &config,
        format!(
            "store: {d}/db/sopilot.db\napproval_timeout: 5m\nserve:\n  listen: 127.0.0.1:0\n  model: scripted:{}\n  api_tokens:\n    - {{name: you, role: approver, token_file: {d}/you.token}}\n    - {{name: viewer, role: viewer, token_file: {d}/viewer.token}}\n",
            script.display()
        ),
    )
    .unwrap();
    config
}

#[tokio::test]
async fn console_in_a_real_browser() {
    let Some((chromium, playwright)) = tools() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"));
    cmd.current_dir(repo())
        .env("SOPILOT_EVENTBRIDGE_SECRET", EVENTBRIDGE)
        .env("RUST_LOG", "info")
        .env_remove("SOPILOT_API_TOKEN")
        .env_remove("SLACK_BOT_TOKEN")
        .args(["serve", "--config"])
        .arg(&config)
        .args(["--simulate", "scenarios/demo.yaml"]);
    let server = spawn(cmd).await;
    let shots = std::env::var_os("SOPILOT_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots"));
    let _ = std::fs::remove_dir_all(&shots);
    let out = tokio::time::timeout(
        Duration::from_secs(300),
        tokio::process::Command::new("node")
            .arg(repo().join("tests/browser/console.spec.mjs"))
            .env("CONSOLE_URL", &server.url)
            .env("APPROVER_TOKEN", APPROVER)
            .env("VIEWER_TOKEN", VIEWER)
            .env("EVENTBRIDGE_SECRET", EVENTBRIDGE)
            .env("SCREENSHOTS", &shots)
            .env("CHROMIUM", &chromium)
            .env("PLAYWRIGHT_CORE", &playwright)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the browser test took more than 5 minutes")
    .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}{stderr}\nscreenshots: {}", shots.display());
    assert!(
        out.status.success(),
        "the browser test failed:\n{stdout}{stderr}"
    );
    assert!(stdout.contains("every step held"), "{stdout}");
    for shot in [
        "01-signin",
        "02-runs",
        "03-run-waiting",
        "04-approvals",
        "05-run-report",
        "06-run-approved",
        "07-approvals-decided",
        "08-approvals-as-viewer",
        "09-policy",
    ] {
        let png = std::fs::read(shots.join(format!("{shot}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{shot} is a PNG");
    }
    // What the browser did is what the store holds: one call approved through the console and
    // executed, another denied through it.
    let http = crate::support::http();
    let approvals: Value = http
        .get(format!("{}/api/approvals", server.url))
        .bearer_auth(APPROVER)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let decided: Vec<(&str, &str, &str)> = approvals["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["state"].as_str().unwrap(),
                a["decided_by"].as_str().unwrap_or(""),
                a["channel"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(
        decided.contains(&("approved", "console:you", "console")),
        "{decided:?}"
    );
    assert!(
        decided.contains(&("denied", "console:you", "console")),
        "{decided:?}"
    );
}

/// Kills a process group when dropped (`sopilot demo --serve` and the server it starts).
struct Group(u32);

impl Drop for Group {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0)])
            .status();
    }
}

#[tokio::test]
async fn demo_serve_waits_for_a_person() {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"));
    cmd.current_dir(std::env::temp_dir())
        .env("RUST_LOG", "info")
        .env_remove("SOPILOT_API_TOKEN")
        .args([
            "demo",
            "--serve",
            "--listen",
            "127.0.0.1:0",
            "--alarm-after",
            "1",
        ])
        .process_group(0);
    let server = spawn(cmd).await;
    let _group = Group(server.child.id().unwrap());
    let http = crate::support::http();
    // It prints the sign-in page, a one-time code and where the tokens are.
    let printed = |prefix: &str| {
        server
            .log
            .lock()
            .unwrap()
            .iter()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|u| u.trim().to_owned()))
    };
    for _ in 0..100 {
        if printed("Runs, open it").is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let code = printed("Code").expect("demo --serve prints a one-time sign-in code");
    let link = printed("Open").expect("demo --serve prints the sign-in page");
    assert_eq!(
        link,
        format!("{}/signin", server.url),
        "no token in the URL"
    );
    let log = server.log.lock().unwrap().join("\n");
    let token_file = log
        .split_whitespace()
        .find(|w| w.ends_with("/you.token"))
        .map(PathBuf::from)
        .expect("the approver token's file is named");
    let dir = token_file.parent().unwrap().to_owned();
    let token = std::fs::read_to_string(&token_file).unwrap();
    assert!(!log.contains(&token), "the token itself is not printed");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{} is private", dir.display());
    }
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        !name.contains(&server.child.id().unwrap().to_string()),
        "{name}: not named after the process"
    );

    // The code signs in once.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let form = http.get(&link).send().await.unwrap().text().await.unwrap();
    assert!(form.contains("name=\"token\""), "{form}");
    let sign_in = || {
        browser
            .post(&link)
            .header("origin", &server.url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={code}"))
            .send()
    };
    let first = sign_in().await.unwrap();
    assert_eq!(first.status(), 303);
    let cookie = first.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("sopilot_session="), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "on loopback over HTTP: {cookie}"
    );
    assert_eq!(
        sign_in().await.unwrap().status(),
        401,
        "a used code is void"
    );

    // The alarm arrives by itself; the run stops at the HPA change and waits for a person.
    let mut pending = Value::Null;
    for _ in 0..600 {
        let v: Value = http
            .get(format!("{}/api/approvals?state=pending", server.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(a) = v["approvals"].get(0) {
            pending = a.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(pending["tool"], "kubectl.patch_hpa", "{pending}");
    let runs: Value = http
        .get(format!("{}/api/runs", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let run = &runs["runs"][0];
    assert_eq!(run["sop"], "complex-incident", "{runs}");
    assert_eq!(
        run["trigger"]["alarm"]["name"], "payment-service-eks-critical",
        "{runs}"
    );
    assert_eq!(
        run["status"], "running",
        "still waiting for the decision: {runs}"
    );

    // Ctrl-C stops the demo and removes its directory.
    let mut child = server.child;
    std::process::Command::new("kill")
        .args(["-INT", "--", &format!("-{}", child.id().unwrap())])
        .status()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the demo stops on Ctrl-C")
        .unwrap();
    assert!(!dir.exists(), "{} is removed", dir.display());
}
