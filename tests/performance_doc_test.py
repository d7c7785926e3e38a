#!/usr/bin/python3
"""docs/performance.md is what tools/perf_table.py renders from docs/performance.md.in and the
CSVs in bench/results/, and every CSV there says where and when it was measured."""
import glob
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "tools"))
import perf_table  # noqa: E402


def main():
    failures = []
    for path in sorted(glob.glob(os.path.join(ROOT, "bench", "results", "*.csv"))):
        provenance, rows = perf_table.read(os.path.relpath(path, ROOT))
        for key in ("cpu", "date", "command"):
            if key not in provenance:
                failures.append("%s: no '# %s:' line" % (path, key))
        if not rows:
            failures.append("%s: no rows" % path)
    rendered = perf_table.render(os.path.join(ROOT, "docs", "performance.md.in"))
    with open(os.path.join(ROOT, "docs", "performance.md")) as f:
        if f.read() != rendered:
            failures.append("docs/performance.md is stale: run tools/perf_table.py render "
                            "docs/performance.md.in > docs/performance.md")
    for failure in failures:
        print("FAIL:", failure)
    if failures:
        sys.exit(1)
    print("performance page matches its template and results")


if __name__ == "__main__":
    main()
