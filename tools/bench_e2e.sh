#!/usr/bin/env bash
# End-to-end training throughput, SparseTrain against PyTorch (Debian's python3-torch, which runs
# oneDNN underneath) on the same Fashion-MNIST model, data order, batch, epochs and thread count:
# the demo's CNN, or the MobileNetV2- and ResNet-18-style networks of
# examples/fashion_mnist_model.h.
# Ends with
#   RESULT ours_images_per_s=<x> torch_images_per_s=<x> ratio=<x> ours_accuracy=<x> torch_accuracy=<x>
# Usage: tools/bench_e2e.sh [--model cnn|mobilenet_v2|resnet18] [--epochs N] [--batch N]
#                           [--threads N]   (defaults cnn, 8 epochs (2 for the larger models), 64, 2)
set -euo pipefail
cd "$(dirname "$0")/.."
tools/bootstrap.sh >/dev/null

model=cnn epochs= batch=64 threads=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

case "$model" in
  cnn) epochs=${epochs:-8} ;;
  mobilenet_v2 | resnet18) epochs=${epochs:-2} ;;
  *) echo "unknown model $model (cnn, mobilenet_v2, resnet18)" >&2; exit 2 ;;
esac

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Quiet unless the build fails: then its errors, not a silent stop.
bazel build -c opt //examples:train_fashion_mnist >/dev/null 2>"$out/build.log" ||
  { cat "$out/build.log" >&2; exit 1; }
common=(--model "$model" --epochs "$epochs" --batch "$batch" --threads "$threads")

echo "== SparseTrain, $model"
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
