#!/usr/bin/env python3
"""Benchmark CSVs into the Markdown of docs/performance.md.

  tools/perf_table.py render docs/performance.md.in > docs/performance.md
  tools/perf_table.py layers OUT.csv          one conv_bench CSV as a table, with its TOTAL ratios
  tools/perf_table.py sweep DIR ISA > OUT.csv the per-run CSVs of tools/perf_sweep.sh as one
                                              sweep CSV (for bench/results/)

A CSV opens with "# key: value" lines (cpu, date, command, ...) saying where it was measured;
every table names them. In a template, a line
  {{layers FILE}}   a per-layer table of a conv_bench CSV
  {{summary FILE ...}}  one row of TOTAL ratios per conv_bench CSV
  {{sweep FILE}}    a uniform-sparsity sweep (dense / sparse / auto speedup per cell)
  {{e2e FILE}}      an end-to-end throughput comparison
is replaced by its table; file names are relative to the repository.
"""
import csv
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(path):
    """(provenance dict, rows) of a CSV whose first lines may be '# key: value'."""
    provenance, lines = {}, []
    with open(os.path.join(ROOT, path), newline="") as f:
        for line in f:
            if line.startswith("#"):
                key, _, value = line[1:].partition(":")
                provenance[key.strip()] = value.strip()
            else:
                lines.append(line)
    return provenance, list(csv.DictReader(lines))


def measured(provenance):
    parts = ["Measured on %s, %s" % (provenance.get("cpu", "an unrecorded CPU"),
                                     provenance.get("date", "an unrecorded date"))]
    if "commit" in provenance:
        parts.append("at commit %s" % provenance["commit"])
    text = ", ".join(parts) + "."
    if "command" in provenance:
        text += " `%s`." % provenance["command"]
    if "workers" in provenance:
        text += " Our pool's workers %s between calls." % (
            "spun" if provenance["workers"] == "spin" else "slept")
    if "source" in provenance:
        text += " From %s." % provenance["source"]
    return "_%s_" % text


def totals(rows):
    ours, theirs = {}, {}
    for r in rows:
        ours[r["pass"]] = ours.get(r["pass"], 0.0) + float(r["ours_ms"])
        theirs[r["pass"]] = theirs.get(r["pass"], 0.0) + float(r["onednn_ms"])

    def ratio(passes):
        if not all(p in ours for p in passes):
            return "n/a"
        return "%.2f" % (sum(theirs[p] for p in passes) / sum(ours[p] for p in passes))
    return {"fwd": ratio(["fwd"]), "bwd_data": ratio(["bwd_data"]),
            "bwd_weights": ratio(["bwd_weights"]),
            "train": ratio(["fwd", "bwd_data", "bwd_weights"])}


def layers_table(path):
    provenance, rows = read(path)
    out = ["| layer | problem | pass | x zeros | dy zeros | kernel | ours ms | oneDNN ms | speedup |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append("| %s | %s | %s | %.2f | %.2f | %s | %.2f | %.2f | %.2f |" % (
            r["layer"], r.get("problem", ""), r["pass"], float(r["x_sparsity"]),
            float(r["dy_sparsity"]), r["kernel"], float(r["ours_ms"]), float(r["onednn_ms"]),
            float(r["speedup"])))
    t = totals(rows)
    out.append("")
    out.append("TOTAL (summed oneDNN time / summed ours): fwd %s, bwd_data %s, bwd_weights %s, "
               "train %s" % (t["fwd"], t["bwd_data"], t["bwd_weights"], t["train"]))
    out.append("")
    out.append(measured(provenance))
    return out


def summary_table(paths):
    out = ["| list | ISA | kernel | fwd | bwd_data | bwd_weights | train | inference | CPU, date |",
           "|---|---|---|---|---|---|---|---|---|"]
    for path in paths:
        provenance, rows = read(path)
        t = totals(rows)
        kernel = re.search(r"--kernel (\w+)", provenance.get("command", ""))
        out.append("| %s | %s | %s | %s | %s | %s | **%s** | **%s** | %s, %s |" % (
            rows[0]["net"], rows[0]["isa"], kernel.group(1) if kernel else "dense",
            t["fwd"], t["bwd_data"], t["bwd_weights"], t["train"], t["fwd"],
            provenance.get("cpu", "?"), provenance.get("date", "?")))
    return out


def sweep_table(path):
    provenance, rows = read(path)
    zeros = sorted({r["zeros"] for r in rows}, key=float)
    out = ["| layer | pass | " + " | ".join("%s zeros" % z for z in zeros) + " |",
           "|---|---|" + "---|" * len(zeros)]
    cells = {}
    order = []
    for r in rows:
        key = (r["layer"], r["pass"])
        if key not in cells:
            cells[key] = {}
            order.append(key)
        cells[key][r["zeros"]] = "%.2f / %.2f / %.2f%s" % (
            float(r["dense_speedup"]), float(r["sparse_speedup"]), float(r["auto_speedup"]),
            r["auto_kernel"][0])
    for key in order:
        out.append("| %s | %s | %s |" % (key[0], key[1],
                                         " | ".join(cells[key].get(z, "") for z in zeros)))
    out.append("")
    out.append(measured(provenance))
    return out


def e2e_table(path):
    provenance, rows = read(path)
    out = ["| | images/s (training) | test accuracy |", "| --- | --- | --- |"]
    for r in rows:
        out.append("| %s | %s | %s |" % (r["runtime"], r["images_per_s"], r["test_accuracy"]))
    if len(rows) == 2:
        out.append("| ratio | **%.2fx** | %+.2f points |" % (
            float(rows[0]["images_per_s"]) / float(rows[1]["images_per_s"]),
            100 * (float(rows[0]["test_accuracy"]) - float(rows[1]["test_accuracy"]))))
    out.append("")
    out.append(measured(provenance))
    return out


def render(template):
    """The page `template` describes, as text."""
    directives = {"layers": lambda args: layers_table(args[0]),
                  "summary": summary_table,
                  "sweep": lambda args: sweep_table(args[0]),
                  "e2e": lambda args: e2e_table(args[0])}
    out = ["<!-- Generated by tools/perf_table.py render docs/performance.md.in: edit that file "
           "and the CSVs in bench/results/, not this one. -->"]
    with open(template) as f:
        for line in f.read().split("\n"):
            m = re.fullmatch(r"\{\{(\w+) (.+)\}\}", line.strip())
            if m is None:
                out.append(line)
                continue
            if m.group(1) not in directives:
                sys.exit("%s: unknown directive {{%s}}" % (template, m.group(1)))
            out.extend(directives[m.group(1)](m.group(2).split()))
    return "\n".join(out)


def combine_sweep(directory, isa):
    """One sweep CSV from DIR/sweep_ISA_{dense,sparse,auto}_SPARSITY.csv."""
    sparsities = sorted({os.path.basename(p).rsplit("_", 1)[1][:-4]
                         for p in glob.glob(os.path.join(directory, "sweep_%s_dense_*.csv" % isa))},
                        key=float)
    runs = {(k, sp): read(os.path.join(directory, "sweep_%s_%s_%s.csv" % (isa, k, sp)))
            for k in ("dense", "sparse", "auto") for sp in sparsities}
    provenance = runs[("dense", sparsities[0])][0]
    for key in ("cpu", "date"):
        print("# %s: %s" % (key, provenance.get(key, "?")))
    print("# command: tools/perf_sweep.sh %s %s" % (directory, isa))
    print("layer,pass,zeros,dense_speedup,sparse_speedup,auto_speedup,auto_kernel")
    for sp in sparsities:
        for i, r in enumerate(runs[("dense", sp)][1]):
            d, s, a = (runs[(k, sp)][1][i] for k in ("dense", "sparse", "auto"))
            print("%s,%s,%s,%s,%s,%s,%s" % (r["layer"], r["pass"], sp, d["speedup"],
                                            s["speedup"], a["speedup"], a["kernel"]))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "render":
        sys.stdout.write(render(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "layers":
        print("\n".join(layers_table(os.path.abspath(sys.argv[2]))))
    elif len(sys.argv) == 4 and sys.argv[1] == "sweep":
        combine_sweep(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
