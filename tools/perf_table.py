#!/usr/bin/env python3
"""Turns conv_bench CSV files into the Markdown tables of docs/performance.md.

  tools/perf_table.py layers OUT.csv          per layer and pass, with the TOTAL ratios
  tools/perf_table.py sweep DIR ISA           from DIR/sweep_ISA_{dense,sparse,auto}_SPARSITY.csv
                                              (tools/perf_sweep.sh writes them)
"""
import csv
import sys


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


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


def layers(path):
    rows = read(path)
    print("| layer | pass | x zeros | dy zeros | kernel | ours ms | oneDNN ms | speedup |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %s | %.2f | %.2f | %s | %.2f | %.2f | %.2f |" % (
            r["layer"], r["pass"], float(r["x_sparsity"]), float(r["dy_sparsity"]), r["kernel"],
            float(r["ours_ms"]), float(r["onednn_ms"]), float(r["speedup"])))
    t = totals(rows)
    print("\nTOTAL (summed oneDNN time / summed ours): fwd %s, bwd_data %s, bwd_weights %s, "
          "train %s" % (t["fwd"], t["bwd_data"], t["bwd_weights"], t["train"]))


def sweep(directory, isa):
    """Cells: speedup over oneDNN of our dense / sparse / auto kernels (auto's choice: d or s)."""
    import glob
    import os
    sparsities = sorted({os.path.basename(p).rsplit("_", 1)[1][:-4]
                         for p in glob.glob(os.path.join(directory, "sweep_%s_dense_*.csv" % isa))},
                        key=float)
    runs = {(k, sp): read(os.path.join(directory, "sweep_%s_%s_%s.csv" % (isa, k, sp)))
            for k in ("dense", "sparse", "auto") for sp in sparsities}
    print("| layer | pass | " + " | ".join("%s zeros" % sp for sp in sparsities) + " |")
    print("|---|---|" + "---|" * len(sparsities))
    for i, r in enumerate(runs[("dense", sparsities[0])]):
        cells = []
        for sp in sparsities:
            d, s_, a = (runs[(k, sp)][i] for k in ("dense", "sparse", "auto"))
            cells.append("%.2f / %.2f / %.2f%s" % (float(d["speedup"]), float(s_["speedup"]),
                                                   float(a["speedup"]), a["kernel"][0]))
        print("| %s | %s | %s |" % (r["layer"], r["pass"], " | ".join(cells)))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "layers":
        layers(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "sweep":
        sweep(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
