#!/usr/bin/env bash
# End-to-end training throughput, SparseTrain against PyTorch (Debian's python3-torch, which runs
# oneDNN underneath) on the same Fashion-MNIST model, data order, batch, epochs and thread count.
# Ends with
#   RESULT ours_images_per_s=<x> torch_images_per_s=<x> ratio=<x> ours_accuracy=<x> torch_accuracy=<x>
# Usage: tools/bench_e2e.sh [--epochs N] [--batch N] [--threads N]   (defaults 8, 64, 2)
set -euo pipefail
cd "$(dirname "$0")/.."
tools/bootstrap.sh >/dev/null

epochs=8 batch=64 threads=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --epochs) epochs="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

bazel build -c opt //examples:train_fashion_mnist 2>/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
common=(--epochs "$epochs" --batch "$batch" --threads "$threads")

echo "== SparseTrain"
bazel-bin/examples/train_fashion_mnist "${common[@]}" --out-dir "$out/ours" 2>/dev/null \
  | tee "$out/ours.log" | grep -E '^epoch'
echo "== PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
/usr/bin/python3 bench/torch_fashion_mnist.py "${common[@]}" | tee "$out/torch.log" | grep -E '^epoch'

field() { grep '^RESULT' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
ours=$(field "$out/ours.log" images_per_s)
torch=$(field "$out/torch.log" images_per_s)
ratio=$(awk -v a="$ours" -v b="$torch" 'BEGIN { printf "%.2f", a / b }')
echo "RESULT ours_images_per_s=$ours torch_images_per_s=$torch ratio=$ratio" \
  "ours_accuracy=$(field "$out/ours.log" test_accuracy)" \
  "torch_accuracy=$(field "$out/torch.log" test_accuracy)"
