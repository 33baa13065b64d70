// The web console in a real browser (Debian's chromium, driven by playwright-core): sign in,
// watch the demo incident's run appear live, open it, approve its escalated HPA change and
// see it execute, deny a second run's escalation, and be refused as a viewer and without the
// CSRF token. Screenshots of each page go to $SCREENSHOTS.
//
// Run by agent/cli/tests/all/console.rs against `sopilot serve --simulate scenarios/demo.yaml`:
//   CONSOLE_URL, APPROVER_TOKEN, VIEWER_TOKEN, EVENTBRIDGE_SECRET, SCREENSHOTS, CHROMIUM,
//   PLAYWRIGHT_CORE (the package's folder). Exits 0 when every step held.

import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const env = (name) => {
  const v = process.env[name];
  if (!v) { throw new Error(`${name} is not set`); }
  return v;
};
const url = env("CONSOLE_URL");
const shots = env("SCREENSHOTS");
mkdirSync(shots, { recursive: true });
const { chromium } = createRequire(import.meta.url)(env("PLAYWRIGHT_CORE"));

const step = (what) => console.log(`step: ${what}`);
function check(ok, what) {
  if (!ok) { throw new Error(`check failed: ${what}`); }
}

// The demo's alarm as EventBridge delivers it; `name` tells runs apart (each its own run).
async function fireAlarm(name) {
  const now = new Date().toISOString();
  const body = {
    version: "0", id: name, "detail-type": "CloudWatch Alarm State Change", source: "aws.cloudwatch",
    account: "123456789012", time: now, region: "us-east-1",
    resources: [`arn:aws:cloudwatch:us-east-1:123456789012:alarm:${name}`],
    detail: {
      alarmName: name, state: { value: "ALARM", reason: "Threshold Crossed", timestamp: now },
      previousState: { value: "OK" },
      configuration: { metrics: [{ id: "m1", metricStat: { metric: { namespace: "ContainerInsights", name: "service_5xx_percent",
        dimensions: { ClusterName: "eks-prod", Namespace: "payment", Service: "payment-service" } }, period: 60, stat: "Average" } }] },
    },
  };
  const r = await fetch(`${url}/hooks/eventbridge`, {
    method: "POST", headers: { authorization: env("EVENTBRIDGE_SECRET"), "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await r.json();
  check(r.status === 200 && answer.run_id, `the alarm ${name} started a run: ${JSON.stringify(answer)}`);
  return answer.run_id;
}

// The run as the API shows it, once it is no longer running (or after two minutes).
async function waitForRun(id) {
  let run = null;
  for (let i = 0; i < 240; i++) {
    run = await fetch(`${url}/api/runs/${id}`, { headers: { authorization: `Bearer ${env("APPROVER_TOKEN")}` } }).then((r) => r.json());
    if (run.run.status !== "running") { break; }
    await new Promise((r) => setTimeout(r, 500));
  }
  return run;
}

// A one-time sign-in code for `token` (POST /api/signin-code with it as bearer).
async function signInCode(token) {
  const r = await fetch(`${url}/api/signin-code`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
  const answer = await r.json();
  check(r.status === 200 && answer.code, `a sign-in code was made: ${JSON.stringify(answer)}`);
  return answer.code;
}

// Content-Security-Policy violations and script errors seen on any page.
const violations = [];

async function signIn(browser, token) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/.test(m.text())) { violations.push(m.text()); }
  });
  page.on("pageerror", (e) => violations.push(`script error: ${e.message}`));
  page.setDefaultTimeout(60_000);
  await page.goto(`${url}/`);
  check(page.url().endsWith("/signin"), `/ sends a stranger to /signin (${page.url()})`);
  await page.fill("#token", token);
  return { context, page };
}

// A screenshot: the whole page, or with `viewport` only what the window shows.
async function shot(page, name, viewport = false) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: !viewport });
}

// A post made by script from a signed-in page: its status.
async function forge(page, path, body) {
  return page.evaluate(async ([p, b]) => {
    const r = await fetch(p, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: b, redirect: "manual" });
    return r.status;
  }, [path, body]);
}

let current = null; // the approver's page, shot when a step fails

async function main() {
  const browser = await chromium.launch({ executablePath: env("CHROMIUM"), args: ["--no-sandbox"] });
  try {
    step("sign in as the approver");
    const { page } = await signIn(browser, env("APPROVER_TOKEN"));
    current = page;
    await shot(page, "01-signin");
    await page.click("button[type=submit]");
    await page.waitForURL(`${url}/runs`);
    check(await page.locator("header .who").innerText().then((t) => t.includes("you")), "the header names who signed in");

    step("the alarm fires; the run appears without a reload");
    await page.evaluate(() => { window.__stayed = true; });
    await page.waitForFunction(() => document.body.dataset.live === "on");
    const runA = await fireAlarm("payment-service-eks-critical");
    await page.locator(`a[href="/runs/${runA}"]`).waitFor();
    check(await page.evaluate(() => window.__stayed === true), "the run appeared in place (Server-Sent Events), not by reloading");

    step("open the run; it stops at the escalated HPA change");
    await page.click(`a[href="/runs/${runA}"]`);
    await page.waitForURL(`${url}/runs/${runA}`);
    const hpaCall = page.locator("li.call", { hasText: "kubectl.patch_hpa" });
    await hpaCall.locator("p.approval", { hasText: "pending" }).waitFor();
    check((await hpaCall.locator("table.diff ins").allInnerTexts()).includes("20"), "the HPA call's impact shows max 10 → 20");
    await hpaCall.scrollIntoViewIfNeeded();
    await shot(page, "03-run-waiting", true);

    step("a second run of the incident, to be denied");
    const runB = await fireAlarm("payment-service-canary-eks-critical");
    await page.goto(`${url}/runs`);
    await page.locator(`a[href="/runs/${runB}"]`).waitFor();
    await shot(page, "02-runs");

    step("the approvals inbox");
    await page.goto(`${url}/approvals`);
    const cardA = page.locator("article.approval:not(.done)", { has: page.locator(`a[href="/runs/${runA}"]`) }).filter({ hasText: "kubectl.patch_hpa" });
    await cardA.waitFor();
    check(await cardA.locator("p.why").innerText().then((t) => t.includes("hpa")), "the card names the rule that escalated");
    const approvalA = await cardA.getAttribute("id");
    // Run B reaches the same escalation while run A's still waits (the inbox follows it live).
    const cardB = page.locator("article.approval:not(.done)", { has: page.locator(`a[href="/runs/${runB}"]`) }).filter({ hasText: "kubectl.patch_hpa" });
    await cardB.waitFor();

    step("a viewer signs in with a one-time code, sees no buttons and is refused when posting anyway");
    const viewer = await signIn(browser, await signInCode(env("VIEWER_TOKEN")));
    await viewer.page.click("button[type=submit]");
    await viewer.page.waitForURL(`${url}/runs`);
    await viewer.page.goto(`${url}/approvals`);
    await viewer.page.locator(`article[id="${approvalA}"]`).waitFor();
    check(await viewer.page.locator("button.approve").count() === 0, "no Approve button for a viewer");
    const viewerCsrf = await viewer.page.locator("form.signout input[name=csrf]").getAttribute("value");
    const viewerStatus = await forge(viewer.page, `/approvals/${approvalA}`, `csrf=${viewerCsrf}&decision=approve`);
    check(viewerStatus === 403, `a viewer's approval is refused (got ${viewerStatus})`);
    await shot(viewer.page, "08-approvals-as-viewer");

    step("a post without the CSRF token is refused");
    const forged = await forge(page, `/approvals/${approvalA}`, "decision=approve");
    check(forged === 403, `a post without the CSRF token is refused (got ${forged})`);
    await page.reload();
    await shot(page, "04-approvals");

    step("approve run A's HPA change and see it execute");
    await page.locator(`article[id="${approvalA}"] button.approve`).click();
    await page.waitForURL(/\/approvals/);
    await page.locator(`article.done[id="${approvalA}"]`, { hasText: "console:you" }).waitFor();
    await page.goto(`${url}/runs/${runA}`);
    const approved = page.locator("li.call", { hasText: "kubectl.patch_hpa" });
    await approved.locator("p.approval", { hasText: "console:you" }).waitFor();
    await approved.locator("p.result", { hasText: "executed" }).waitFor();
    check(!(await approved.locator("p.result").innerText()).includes("not executed"), "the approved call executed");
    // The run goes on to its report; the page follows it.
    const finishedA = await waitForRun(runA);
    check(finishedA.run.status !== "running", `run A finished: ${JSON.stringify(finishedA.events.slice(-5))}`);
    await page.locator("section.report").waitFor();
    await shot(page, "05-run-report", true);
    await approved.scrollIntoViewIfNeeded();
    await shot(page, "06-run-approved", true);

    step("deny run B's escalations until it ends");
    await page.goto(`${url}/approvals`);
    let denied = 0;
    for (let i = 0; i < 120; i++) {
      const row = await fetch(`${url}/api/runs/${runB}`, { headers: { authorization: `Bearer ${env("APPROVER_TOKEN")}` } }).then((r) => r.json());
      if (row.run.status !== "running") { break; }
      const card = page.locator("article.approval:not(.done)", { has: page.locator(`a[href="/runs/${runB}"]`) });
      if (await card.count() > 0) {
        const id = await card.first().getAttribute("id");
        await card.first().locator("button.deny").click();
        await page.waitForURL(/\/approvals/);
        await page.locator(`article.done[id="${id}"]`, { hasText: "denied" }).waitFor();
        denied += 1;
      } else {
        // The inbox follows the run live; reload when no card came within a second.
        const came = await card.first().waitFor({ timeout: 1_000 }).then(() => true, () => false);
        if (!came) { await page.reload(); }
      }
    }
    check(denied >= 1, "at least one of run B's escalations was denied in the browser");
    await shot(page, "07-approvals-decided");

    step("the policy's answer for the HPA change");
    await page.goto(`${url}/policy`);
    await page.fill("#tool", "kubectl.patch_hpa");
    await page.fill("#args", '{"namespace": "payment", "name": "payment-service-hpa", "max_replicas": 20}');
    await page.fill("#impact", '{"action": "patch_hpa", "target": {"kind": "HorizontalPodAutoscaler", "namespace": "payment", "name": "payment-service-hpa"}, "hpa": {"min_before": 2, "min_after": 2, "max_before": 10, "max_after": 20}}');
    await page.click("form.check button[type=submit]");
    await page.locator("section.verdict").waitFor();
    check((await page.locator("section.verdict h2").innerText()).includes("escalate"), "the policy escalates a doubling of the HPA's maximum");
    await shot(page, "09-policy", true);

    step("the SOPs");
    await page.goto(`${url}/sops`);
    await page.locator("a[href=\"/sops/complex-incident\"]").waitFor();
    await shot(page, "10-sops");
    await page.goto(`${url}/sops/complex-incident?namespace=payment&service=payment-service`);
    await page.locator("pre.sop").waitFor();
    await shot(page, "11-sop-rendered", true);
    step("start a run of the SOP by hand");
    await page.click("form.start button[type=submit]");
    // The run's page once its record exists; a run still queued (a busy machine) is on the list,
    // filtered to it, until it starts.
    await page.waitForURL(/\/runs(\/run-|\?q=run-)/);
    const started = new URL(page.url());
    if (started.searchParams.get("q")) {
      const id = started.searchParams.get("q");
      await page.locator(`a[href="/runs/${id}"]`).waitFor();
      await page.click(`a[href="/runs/${id}"]`);
      await page.waitForURL(`${url}/runs/${id}`);
    }
    check((await page.locator("dl.facts").innerText()).includes("manual console:you"), "the run names who started it");

    step("keyboard: the skip link is the first stop");
    await page.goto(`${url}/runs`);
    await page.keyboard.press("Tab");
    check(await page.evaluate(() => document.activeElement.className === "skip"), "Tab reaches the skip link first");
    check(violations.length === 0, `no CSP violation or script error: ${violations.join("; ")}`);
    console.log("console browser test: every step held");
  } catch (e) {
    if (current) {
      await current.screenshot({ path: join(shots, "failure.png"), fullPage: true }).catch(() => {});
      const text = await current.locator("main").innerText().catch(() => "");
      console.error(`the page at ${current.url()} showed:\n${text.slice(0, 3000)}`);
    }
    throw e;
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(`console browser test FAILED: ${e.stack || e}`);
  process.exit(1);
});
