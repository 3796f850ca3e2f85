#!/usr/bin/env python3
"""Turns a bench/run.sh output directory into Markdown (and results.json).

usage: report.py OUT_DIR [--clk-tck N] [--rss-mode hwm|sample] [--meta k=v ...]
"""
import argparse
import json
import pathlib
import re

LABELS = {
    "a-direct": "(a) REST page of 20, direct to the emulator",
    "b-page": "(b) gateway: page of 20, every field",
    "c-multi": "(c) gateway: 5 jobs x 20, one query",
    "d-paging": "(d) gateway: 1,000 by endCursor, first: 100",
    "e-rest-pages": "(e) REST: 1,000 by nextCursor, limit=100, direct",
    "f-peers": "(f) gateway: the peers' query, page of 20",
}
GATEWAY = {"b-page", "c-multi", "d-paging", "f-peers"}
# (gateway scenario, direct scenario, what): the gateway/direct REST ratios of a run.
PAIRS = (("b-page", "a-direct", "page of 20"),
         ("f-peers", "a-direct", "peers' query, page of 20"),
         ("d-paging", "e-rest-pages", "pages of 100"))


def ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(text):
    r = {"requests": 0, "rps": 0.0, "p50": None, "p99": None, "errors": 0, "paging": None}
    if m := re.search(r"(\d+) requests in", text):
        r["requests"] = int(m.group(1))
    if m := re.search(r"Requests/sec:\s+([\d.]+)", text):
        r["rps"] = float(m.group(1))
    for pct in ("50", "99"):
        if m := re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M):
            r[f"p{pct}"] = ms(m.group(1), m.group(2))
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", text):
        r["errors"] += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text):
        r["errors"] += sum(int(x) for x in m.groups())
    if m := re.search(r"paging: pages=(\d+) chains=(\d+) bad=(\d+)", text):
        r["paging"] = {"pages": int(m.group(1)), "chains": int(m.group(2)), "bad": int(m.group(3))}
        r["errors"] += int(m.group(3))
    return r


def fmt(value, digits=2):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--clk-tck", type=int, default=100)
    ap.add_argument("--rss-mode", default="hwm")
    ap.add_argument("--meta", nargs="*", default=[])
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    meta = dict(kv.split("=", 1) for kv in args.meta)

    rows = []
    lines = (out / "runs.tsv").read_text().splitlines()[1:]
    for line in lines:
        scenario, conns, raw, gw_ticks, emu_ticks, rss_kib, upstream = line.split("\t")
        r = parse_wrk(pathlib.Path(raw).read_text())
        n = max(r["requests"], 1)
        tick_ms = 1000.0 / args.clk_tck
        gateway = scenario in GATEWAY
        rows.append({
            "scenario": scenario,
            "conns": int(conns),
            **r,
            "gw_cpu_ms_per_req": int(gw_ticks) * tick_ms / n if gateway else None,
            "emu_cpu_ms_per_req": int(emu_ticks) * tick_ms / n,
            "gw_peak_rss_mib": int(rss_kib) / 1024 if gateway else None,
            "upstream_per_req": int(upstream) / n,
        })
    (out / "results.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))

    print(f"Bench run {meta.get('date', '')}, commit {meta.get('commit', '?')}, "
          f"{meta.get('cores', '?')} cores, load average {meta.get('loadavg_start', '?')} at start, "
          f"{meta.get('loadavg_end', '?')} at end; wrk -t1, {meta.get('duration')} per run after a "
          f"{meta.get('warmup')} warm-up at 32 connections; unique Authorization per request: "
          f"{'yes' if meta.get('unique_auth') == '1' else 'no'}"
          + (f"; gateway args: `{meta['gateway_args']}`" if meta.get("gateway_args") else "") + ".")
    print()
    rss = "peak RSS MiB" if args.rss_mode == "hwm" else "peak RSS MiB (sampled)"
    print(f"| scenario | conns | req/s | p50 ms | p99 ms | gw CPU ms/req | emulator CPU ms/req | gw {rss} | upstream req/req | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {LABELS.get(r['scenario'], r['scenario'])} | {r['conns']} | {r['rps']:.0f} | "
              f"{fmt(r['p50'])} | {fmt(r['p99'])} | {fmt(r['gw_cpu_ms_per_req'], 3)} | "
              f"{fmt(r['emu_cpu_ms_per_req'], 3)} | {fmt(r['gw_peak_rss_mib'], 1)} | "
              f"{r['upstream_per_req']:.3f} | {r['errors']} |")

    by = {(r["scenario"], r["conns"]): r for r in rows}
    ratios = []
    for gw, direct, what in PAIRS:
        for conns in sorted({r["conns"] for r in rows}):
            g, d = by.get((gw, conns)), by.get((direct, conns))
            if g and d and d["rps"] and g["p50"] and d["p50"]:
                ratios.append(f"| {what} | {conns} | {g['rps'] / d['rps']:.2f} | "
                              f"{g['p50'] / d['p50']:.2f} | {g['p99'] / d['p99']:.2f} |")
    if ratios:
        print()
        print("Gateway / direct REST, same run:")
        print()
        print("| what | conns | req/s ratio | p50 ratio | p99 ratio |")
        print("|---|---:|---:|---:|---:|")
        print("\n".join(ratios))


if __name__ == "__main__":
    main()
