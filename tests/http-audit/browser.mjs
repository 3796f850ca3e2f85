// Headless Chromium against a running gateway, network limited to loopback.
// Usage: node browser.mjs <gateway base URL> <allowed page URL> <denied page URL>
// 1. Opens GraphiQL at <gateway>/graphql, runs its default query (the README's) with the
//    prefilled headers, and reads the answer from the result pane; then runs a subscription
//    (served as Server-Sent Events) and reads its first event.
// 2. Opens each page (served on other loopback origins); each calls the gateway with fetch and
//    stores the outcome in window.outcome.
// Prints one JSON object: {graphiql, subscription, requests, problems, allowed, denied}. The Rust test
// (tests/e2e/browser.rs) asserts on it. Uses the system Chromium (CHROMIUM, default
// /usr/bin/chromium); playwright-core downloads no browser.
import { chromium } from 'playwright-core';

const [gateway, allowedPage, deniedPage] = process.argv.slice(2);
if (!deniedPage) {
  console.error('usage: node browser.mjs <gateway base URL> <allowed page URL> <denied page URL>');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  chromiumSandbox: false,
  timeout: 60_000,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    // Every non-loopback URL goes to a proxy that is not there, so it fails: a page that
    // needed the internet would show it.
    '--proxy-server=http://127.0.0.1:9',
    '--proxy-bypass-list=127.0.0.1',
  ],
});
const result = { requests: [], problems: [] };
try {
  // A fresh context: a new profile, no stored GraphiQL tabs or headers.
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('request', (r) => result.requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') result.problems.push(m.text());
  });
  page.on('pageerror', (e) => result.problems.push(String(e)));
  page.on('response', (r) => {
    if (r.status() >= 400) result.problems.push(`HTTP ${r.status()} ${r.url()}`);
  });
  page.on('requestfailed', (r) => result.problems.push(`failed ${r.url()}: ${r.failure()?.errorText}`));
  await page.goto(`${gateway}/graphql`, { waitUntil: 'load', timeout: 30_000 });
  await page.waitForSelector('.graphiql-execute-button', { timeout: 30_000 });
  await page.click('.graphiql-execute-button');
  const pane = '.result-window .CodeMirror';
  await page.waitForFunction(
    (sel) => {
      const cm = document.querySelector(sel);
      return cm && /"(data|errors)"/.test(cm.CodeMirror.getValue());
    },
    pane,
    { timeout: 30_000 },
  );
  const text = await page.evaluate((sel) => document.querySelector(sel).CodeMirror.getValue(), pane);
  result.graphiql = JSON.parse(text);
  // 1b. A subscription from GraphiQL: it streams over SSE (POST, Accept: text/event-stream).
  await page.evaluate(
    (sel) => document.querySelector(sel).CodeMirror.setValue(
      'subscription { jobExecutionUpdated(jobName: "data-processing-job", id: "exec-abc123") { metadata { id } status } }',
    ),
    '.graphiql-query-editor .CodeMirror',
  );
  await page.click('.graphiql-execute-button');
  await page.waitForFunction(
    (sel) => /jobExecutionUpdated/.test(document.querySelector(sel).CodeMirror.getValue()),
    pane,
    { timeout: 30_000 },
  );
  result.subscription = JSON.parse(
    await page.evaluate((sel) => document.querySelector(sel).CodeMirror.getValue(), pane),
  );
  // Stop it (the button toggles while a subscription runs).
  await page.click('.graphiql-execute-button');
  for (const [name, url] of [['allowed', allowedPage], ['denied', deniedPage]]) {
    const other = await context.newPage();
    await other.goto(url, { waitUntil: 'load', timeout: 30_000 });
    await other.waitForFunction(() => window.outcome !== undefined, null, { timeout: 30_000 });
    result[name] = await other.evaluate(() => window.outcome);
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
