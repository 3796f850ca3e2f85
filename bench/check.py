#!/usr/bin/env python3
"""Checks the answers the bench drives, before and after the load (used by run.sh).

* the gateway's 20-execution page has no errors, 20 edges, totalCount 1000, and the same ids in
  the same order as the direct REST page;
* the peers' query answers the same 20 ids at one upstream request;
* the 5-job query has 5 x 20 executions and costs exactly 5 upstream requests;
* paging 1,000 executions with first: 100 by endCursor takes 10 pages, returns 1,000 distinct
  executions, and costs exactly one upstream request per page (10).
Exit status 1 with a message on the first failure.
"""
import argparse
import json
import pathlib
import sys
import urllib.request

AUTH = {"Authorization": "Bearer dev-token"}


def http(url, body=None, method=None):
    headers = dict(AUTH)
    data = None
    if body is not None:
        data = body.encode() if isinstance(body, str) else body
        headers["Content-Type"] = "application/json"
    headers["Blaxel-Version"] = "2026-04-28"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def fail(message):
    print(f"check failed: {message}", file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gateway", required=True)
    ap.add_argument("--emulator", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    out = pathlib.Path(args.out)

    def upstream():
        return http(f"{args.emulator}/_emulator/stats")["total"]

    def reset():
        http(f"{args.emulator}/_emulator/reset-stats", body="", method="POST")

    direct = http(f"{args.emulator}/v0/jobs/data-processing-job/executions?limit=20")
    direct_ids = [e["metadata"]["id"] for e in direct["data"]]

    reset()
    page = http(args.gateway, (out / "page.json").read_text())
    if page.get("errors"):
        fail(f"page: {page['errors']}")
    conn = page["data"]["jobExecutions"]
    ids = [e["node"]["metadata"]["id"] for e in conn["edges"]]
    if ids != direct_ids or conn["totalCount"] != 1000:
        fail(f"page: ids {ids[:3]}... totalCount {conn['totalCount']}, direct {direct_ids[:3]}...")
    if upstream() != 1:
        fail(f"page: {upstream()} upstream requests, expected 1")

    reset()
    peers = http(args.gateway, (out / "peers.json").read_text())
    if peers.get("errors"):
        fail(f"peers: {peers['errors']}")
    ids = [e["node"]["metadata"]["id"] for e in peers["data"]["jobExecutions"]["edges"]]
    if ids != direct_ids or upstream() != 1:
        fail(f"peers: ids {ids[:3]}..., {upstream()} upstream requests, expected 1")

    reset()
    multi = http(args.gateway, (out / "multi.json").read_text())
    if multi.get("errors"):
        fail(f"multi: {multi['errors']}")
    sizes = [len(c["edges"]) for c in multi["data"].values()]
    if sizes != [20] * 5:
        fail(f"multi: page sizes {sizes}")
    if upstream() != 5:
        fail(f"multi: {upstream()} upstream requests, expected 5")

    reset()
    template = (out / "paging.json").read_text()
    after, pages, seen = "null", 0, set()
    while True:
        resp = http(args.gateway, template.replace("__AFTER__", after))
        if resp.get("errors"):
            fail(f"paging: {resp['errors']}")
        conn = resp["data"]["jobExecutions"]
        pages += 1
        seen.update(e["node"]["metadata"]["id"] for e in conn["edges"])
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = json.dumps(conn["pageInfo"]["endCursor"])
        if pages > 20:
            fail("paging: more than 20 pages")
    calls = upstream()
    if pages != 10 or len(seen) != 1000 or calls != 10:
        fail(f"paging: {pages} pages, {len(seen)} executions, {calls} upstream requests")
    print(f"checks ok: page = direct ids, 5 jobs in 5 upstream requests, "
          f"{pages} pages of 100 in {calls} upstream requests")


if __name__ == "__main__":
    main()
