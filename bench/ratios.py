#!/usr/bin/env python3
"""The gateway/direct REST ratios of several bench/run.sh runs: per ratio, each run's value, the
median and its confidence interval (bench/median.py), for targets read on the median of runs.

usage: bench/ratios.py OUT_DIR...   (each a bench/run.sh --out directory, holding results.json)
"""
import json
import pathlib
import sys

from median import describe
from report import PAIRS


def main(dirs):
    ratios = {}
    for out in dirs:
        rows = json.loads((pathlib.Path(out) / "results.json").read_text())["rows"]
        by = {(r["scenario"], r["conns"]): r for r in rows}
        for gateway, direct, what in PAIRS:
            for conns in sorted({r["conns"] for r in rows}):
                g, d = by.get((gateway, conns)), by.get((direct, conns))
                if g and d and d["rps"]:
                    ratios.setdefault((what, conns), []).append(g["rps"] / d["rps"])
    if not ratios:
        sys.exit("no gateway/direct pair in " + " ".join(dirs))
    for (what, conns), values in ratios.items():
        print(f"{what}, c={conns}, gateway/direct req/s: {describe(values)}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
