#!/usr/bin/env bash
# The uniform-sparsity sweep of docs/performance.md: a few VGG16 layers at 0-95% zeros, our dense,
# sparse and auto kernels against oneDNN, per ISA. Writes the runs' CSVs to DIR and, per ISA, one
# sweep CSV for tools/perf_table.py.
#   tools/perf_sweep.sh [DIR] [ISA ...]      (defaults: /tmp/sparsetrain-sweep, avx512 avx2)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/sparsetrain-sweep}
shift || true
isas=("${@:-avx512 avx2}")
mkdir -p "$dir"
bazel build -c opt //bench:conv_bench >/dev/null
grep -E '^net|c2_2|c4_2|c5_2' ../shared/data/layers/vgg16.csv > "$dir/layers.csv"
for isa in ${isas[@]}; do
  for sp in 0 0.3 0.5 0.7 0.8 0.9 0.95; do
    for kernel in dense sparse auto; do
      bazel-bin/bench/conv_bench --layers "$dir/layers.csv" --isa "$isa" --kernel "$kernel" \
        --sparsity "$sp" --iters 5 --csv "$dir/sweep_${isa}_${kernel}_${sp}.csv" >/dev/null
    done
  done
  tools/perf_table.py sweep "$dir" "$isa" > "$dir/sweep_$isa.csv"
  echo "$dir/sweep_$isa.csv (copy it to bench/results/ and name it in docs/performance.md.in)"
done
