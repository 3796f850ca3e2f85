"""The official Python SDK (blaxel, pinned in requirements.txt) as a client of blaxel-emulator.

Run by crates/emulator/tests/sdk.rs against an emulator it spawned on 127.0.0.1:0 (seeded with
more executions than its total-count bound and a low inline-task bound, so totalIsPartial and
tasksRef both show). Talks only to that emulator. Environment:

- EMULATOR_URL: the API base URL, http://127.0.0.1:PORT/v0
- BL_API_KEY, BL_WORKSPACE: the SDK's own credential variables (the emulator's demo token)
- BL_API_VERSION: unset to keep the SDK's default Blaxel-Version, or a version to send
- EXPECT_VERSION: the Blaxel-Version this run must send
- JOBS: comma-separated job names to walk; EXECUTIONS_PER_JOB, TOTAL_COUNT_LIMIT,
  INLINE_TASKS_MAX: the emulator's configuration

Base URL: the SDK reads it only from BL_ENV (prod or dev hosts), so this script points the SDK's
generated REST client (blaxel.core.client.client, which bl_job uses) at the emulator with its
with_base_url(). Everything else goes through the SDK's public API: bl_job(...).list_executions()
and its pager auto_paging_iter(), get_execution, create_execution, cancel_execution; the tasks
listing, which BlJob does not wrap, through the generated list_job_execution_tasks and the SDK's
own PaginatedList pager.

Prints one JSON line of what it checked; exits non-zero on the first failed check.
"""

import json
import math
import os
import sys
import urllib.request

import blaxel  # noqa: F401  (autoload: credentials, Blaxel-Version header)
from blaxel.core.client import client
from blaxel.core.client.api.jobs import list_job_execution_tasks
from blaxel.core.client.models.create_job_execution_request import CreateJobExecutionRequest
from blaxel.core.client.models.job_execution import JobExecution
from blaxel.core.client.models.job_execution_task import JobExecutionTask
from blaxel.core.client.pagination import make_paginated_list
from blaxel.core.client.types import Unset
from blaxel.core.common.settings import settings
from blaxel.core.jobs import bl_job

URL = os.environ["EMULATOR_URL"]
ROOT = URL.rsplit("/v0", 1)[0]
JOBS = os.environ["JOBS"].split(",")
PER_JOB = int(os.environ["EXECUTIONS_PER_JOB"])
TOTAL_LIMIT = int(os.environ["TOTAL_COUNT_LIMIT"])
INLINE_MAX = int(os.environ["INLINE_TASKS_MAX"])
REFERENCE_JOB = "data-processing-job"
LIST_EXECUTIONS = "GET /v0/jobs/{jobId}/executions"
LIST_TASKS = "GET /v0/jobs/{jobId}/executions/{executionId}/tasks"

client.with_base_url(URL)


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


def control(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(ROOT + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as resp:
        text = resp.read()
    return json.loads(text) if text else None


def count(route):
    return control("GET", "/_emulator/stats")["requests"].get(route, 0)


def walk_executions(job, limit):
    """Every execution of `job` through the SDK's pager; checks one request per page."""
    control("POST", "/_emulator/reset-stats")
    first = bl_job(job).list_executions(limit=limit)
    items = list(first.auto_paging_iter())
    ids = [e.metadata.id for e in items]
    check(all(isinstance(e, JobExecution) for e in items), f"{job}: every item parses")
    check(len(ids) == len(set(ids)), f"{job}: no duplicates")
    check(len(ids) == PER_JOB, f"{job}: {len(ids)} of {PER_JOB} executions")
    pages = max(1, math.ceil(PER_JOB / limit))
    check(count(LIST_EXECUTIONS) == pages, f"{job}: {count(LIST_EXECUTIONS)} requests for {pages} pages")
    # 2026-09-22 fields: taskCount everywhere, tasksRef instead of inline tasks past the bound.
    for e in items:
        n = e.spec.task_count
        check(isinstance(n, int) and n >= 1, f"{e.metadata.id}: taskCount {n!r}")
        if n > INLINE_MAX:
            check(isinstance(e.spec.tasks_ref, str), f"{e.metadata.id}: tasksRef")
            check(not e.tasks, f"{e.metadata.id}: no inline tasks")
        else:
            check(isinstance(e.spec.tasks_ref, Unset), f"{e.metadata.id}: no tasksRef")
            check(len(e.tasks) == n, f"{e.metadata.id}: {len(e.tasks)} inline tasks of {n}")
    meta = first.meta
    check(meta.total == TOTAL_LIMIT, f"{job}: total {meta.total} is the bound")
    check(meta.total_is_partial is True, f"{job}: totalIsPartial")
    return len(ids), pages


def walk_tasks(job, execution_id, limit):
    """Every task of one execution: the generated endpoint, paged by the SDK's PaginatedList."""

    def fetch(cursor):
        resp = list_job_execution_tasks.sync_detailed(
            job_id=job,
            execution_id=execution_id,
            client=client,
            limit=limit,
            **({} if cursor is None else {"cursor": cursor}),
        )
        check(resp.status_code == 200, f"tasks page: {resp.status_code} {resp.content!r}")
        return make_paginated_list(resp.parsed, mapper=lambda t: t, fetch_next=fetch)

    control("POST", "/_emulator/reset-stats")
    tasks = list(fetch(None).auto_paging_iter())
    names = [t.metadata.name for t in tasks]
    check(all(isinstance(t, JobExecutionTask) for t in tasks), "every task parses")
    check(len(names) == len(set(names)), "no duplicate task")
    pages = max(1, math.ceil(len(names) / limit))
    check(count(LIST_TASKS) == pages, f"{count(LIST_TASKS)} task requests for {pages} pages")
    return names


def main():
    expected = os.environ["EXPECT_VERSION"]
    check(settings.api_version == expected, f"SDK sends {settings.api_version}, expected {expected}")
    report = {"sdk": "blaxel (python)", "version": settings.api_version, "jobs": {}}

    for job in JOBS:
        n, pages = walk_executions(job, limit=50)
        report["jobs"][job] = {"executions": n, "pages": pages}

    job = bl_job(REFERENCE_JOB)
    ref = job.get_execution("exec-abc123")
    check(ref.spec.task_count == 10, "reference taskCount")
    check(ref.spec.env_override.additional_properties == {"MY_VAR": "***", "BATCH_SIZE": "***"},
          f"reference envOverride {ref.spec.env_override!r}")
    check(isinstance(ref.spec.tasks_ref, str) and not ref.tasks, "10 tasks > bound: by reference")
    names = walk_tasks(REFERENCE_JOB, "exec-abc123", limit=3)
    check(names and len(names) == 10, f"reference tasks {names}")

    exec_id = "sdk-py-" + settings.api_version.replace(".", "-")
    request = CreateJobExecutionRequest(tasks=[{"n": i} for i in range(3)])
    request.execution_id = exec_id
    check(job.create_execution(request) == exec_id, "create returns the execution id")
    created = job.get_execution(exec_id)
    check(created.spec.task_count == 3 and len(created.tasks) == 3, "created: 3 inline tasks")
    check(str(created.status) in ("queued", "pending"), f"created status {created.status}")
    check(len(walk_tasks(REFERENCE_JOB, exec_id, limit=2)) == 3, "created: 3 listed tasks")
    job.cancel_execution(exec_id)
    check(str(job.get_execution(exec_id).status) == "cancelling", "cancel: cancelling")

    # The string form of envOverride (the reference page's) is what made this SDK fail: the
    # emulator sends it only as a fault, and the SDK indeed refuses it.
    control("POST", "/_emulator/faults",
            [{"route": "GET /v0/jobs/{jobId}/executions/{executionId}", "body": "envOverrideString"}])
    try:
        job.get_execution("exec-abc123")
        refused = False
    except Exception:  # noqa: BLE001  (whatever the SDK raises on the bad shape)
        refused = True
    finally:
        control("DELETE", "/_emulator/faults")
    report["envOverrideStringRefused"] = refused
    report["created"] = exec_id
    print(json.dumps(report))


main()
