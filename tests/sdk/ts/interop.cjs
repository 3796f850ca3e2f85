// The official TypeScript SDK (@blaxel/core, pinned in package-lock.json) as a client of
// blaxel-emulator, run with node by crates/emulator/tests/sdk.rs against an emulator it spawned on
// 127.0.0.1:0. Talks only to that emulator.
//
// The base URL goes through the SDK's public configuration: BL_API_URL (settings.baseUrl). Also
// read: BL_API_KEY and BL_WORKSPACE (the SDK's credential variables), BL_API_VERSION (unset: the
// SDK's default Blaxel-Version), EXPECT_VERSION (what this run must send), JOBS,
// EXECUTIONS_PER_JOB, TOTAL_COUNT_LIMIT, INLINE_TASKS_MAX (the emulator's configuration).
//
// Executions are walked with blJob(...).listExecutions() and the SDK's async iterator over pages;
// get, create and cancel go through BlJob; the tasks listing, which BlJob does not wrap, through
// the generated listJobExecutionTasks and the SDK's own createPaginatedList pager.
//
// Prints one JSON line of what it checked; exits non-zero on the first failed check.
"use strict";

const core = require("@blaxel/core");

const { blJob, settings, listJobExecutionTasks, createPaginatedList } = core;

const URL_ = process.env.BL_API_URL;
const ROOT = URL_.replace(/\/v0$/, "");
const JOBS = process.env.JOBS.split(",");
const PER_JOB = Number(process.env.EXECUTIONS_PER_JOB);
const TOTAL_LIMIT = Number(process.env.TOTAL_COUNT_LIMIT);
const INLINE_MAX = Number(process.env.INLINE_TASKS_MAX);
const REFERENCE_JOB = "data-processing-job";
const LIST_EXECUTIONS = "GET /v0/jobs/{jobId}/executions";
const LIST_TASKS = "GET /v0/jobs/{jobId}/executions/{executionId}/tasks";

function check(cond, what) {
  if (!cond) {
    console.error(`FAILED: ${what}`);
    process.exit(1);
  }
}

async function control(method, path, body) {
  const resp = await fetch(ROOT + path, {
    method,
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30000),
  });
  const text = await resp.text();
  return text ? JSON.parse(text) : null;
}

async function count(route) {
  const stats = await control("GET", "/_emulator/stats");
  return stats.requests[route] ?? 0;
}

// Every execution of `job` through the SDK's pager; checks one request per page.
async function walkExecutions(job, limit) {
  await control("POST", "/_emulator/reset-stats");
  const first = await blJob(job).listExecutions({ limit });
  const items = [];
  for await (const e of first) {
    items.push(e);
  }
  const ids = items.map((e) => e.metadata?.id);
  check(ids.every((id) => typeof id === "string"), `${job}: every item has an id`);
  check(new Set(ids).size === ids.length, `${job}: no duplicates`);
  check(ids.length === PER_JOB, `${job}: ${ids.length} of ${PER_JOB} executions`);
  const pages = Math.max(1, Math.ceil(PER_JOB / limit));
  const requests = await count(LIST_EXECUTIONS);
  check(requests === pages, `${job}: ${requests} requests for ${pages} pages`);
  for (const e of items) {
    const n = e.spec.taskCount;
    check(Number.isInteger(n) && n >= 1, `${e.metadata.id}: taskCount ${n}`);
    if (n > INLINE_MAX) {
      check(typeof e.spec.tasksRef === "string", `${e.metadata.id}: tasksRef`);
      check(!e.tasks || e.tasks.length === 0, `${e.metadata.id}: no inline tasks`);
    } else {
      check(e.spec.tasksRef === undefined, `${e.metadata.id}: no tasksRef`);
      check(e.tasks.length === n, `${e.metadata.id}: ${e.tasks.length} inline tasks of ${n}`);
    }
    const env = e.spec.envOverride;
    check(env === undefined || (typeof env === "object" && !Array.isArray(env)), `${e.metadata.id}: envOverride object`);
  }
  check(first.meta.total === TOTAL_LIMIT, `${job}: total ${first.meta.total} is the bound`);
  check(first.meta.totalIsPartial === true, `${job}: totalIsPartial`);
  return { executions: ids.length, pages };
}

// Every task of one execution: the generated endpoint, paged by the SDK's createPaginatedList.
async function walkTasks(job, executionId, limit) {
  const fetchPage = async (query) => {
    const { data } = await listJobExecutionTasks({
      path: { jobId: job, executionId },
      query,
      headers: settings.headers,
      throwOnError: true,
    });
    return data;
  };
  await control("POST", "/_emulator/reset-stats");
  const query = { limit };
  const list = await createPaginatedList({
    response: await fetchPage(query),
    fetchPage,
    mapItem: (t) => t,
    query,
  });
  const names = [];
  for await (const t of list) {
    names.push(t.metadata.name);
  }
  check(new Set(names).size === names.length, "no duplicate task");
  const pages = Math.max(1, Math.ceil(names.length / limit));
  const requests = await count(LIST_TASKS);
  check(requests === pages, `${requests} task requests for ${pages} pages`);
  return names;
}

async function main() {
  const expected = process.env.EXPECT_VERSION;
  check(settings.apiVersion === expected, `SDK sends ${settings.apiVersion}, expected ${expected}`);
  check(settings.baseUrl === URL_, `SDK base URL ${settings.baseUrl}`);
  const report = { sdk: "@blaxel/core", version: settings.apiVersion, jobs: {} };
  for (const job of JOBS) {
    report.jobs[job] = await walkExecutions(job, 50);
  }

  const job = blJob(REFERENCE_JOB);
  const ref = await job.getExecution("exec-abc123");
  check(ref.spec.taskCount === 10, "reference taskCount");
  check(JSON.stringify(ref.spec.envOverride) === JSON.stringify({ BATCH_SIZE: "***", MY_VAR: "***" }),
    `reference envOverride ${JSON.stringify(ref.spec.envOverride)}`);
  check(typeof ref.spec.tasksRef === "string" && !ref.tasks, "10 tasks > bound: by reference");
  const names = await walkTasks(REFERENCE_JOB, "exec-abc123", 3);
  check(names.length === 10, `reference tasks ${names}`);

  const execId = `sdk-ts-${settings.apiVersion.replace(/\./g, "-")}`;
  const created = await job.createExecution({ executionId: execId, tasks: [{ n: 0 }, { n: 1 }, { n: 2 }] });
  check(created === execId, `create returns the execution id (${created})`);
  const got = await job.getExecution(execId);
  check(got.spec.taskCount === 3 && got.tasks.length === 3, "created: 3 inline tasks");
  check(["queued", "pending"].includes(got.status), `created status ${got.status}`);
  check((await walkTasks(REFERENCE_JOB, execId, 2)).length === 3, "created: 3 listed tasks");
  await job.cancelExecution(execId);
  check((await job.getExecutionStatus(execId)) === "cancelling", "cancel: cancelling");
  report.created = execId;
  console.log(JSON.stringify(report));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`FAILED: ${err?.stack ?? err}`);
    process.exit(1);
  },
);
