#!/usr/bin/env bash
# Fine-tuning an imported torchvision model, SparseTrain against PyTorch on the same network,
# weights, batch, steps and threads: the model exported to ONNX (tools/export_torchvision.py),
# cut at its pooled features, a new head, trained with the backbone frozen and fully unfrozen.
# Also times importing the file. Ends with one line per mode,
#   RESULT frozen=<0|1> ours_images_per_s=<x> torch_images_per_s=<x> ratio=<x> import_ms=<x>
# Usage: tools/bench_finetune.sh [--model resnet18] [--size 128] [--batch 32] [--steps 20]
#                                [--threads 2]
set -euo pipefail
cd "$(dirname "$0")/.."
tools/bootstrap.sh >/dev/null

model=resnet18 size=128 batch=32 steps=20 threads=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bazel build -c opt //bench:finetune_bench >/dev/null 2>"$out/build.log" ||
  { cat "$out/build.log" >&2; exit 1; }
/usr/bin/python3 -W ignore tools/export_torchvision.py "$model" "$out/$model.onnx" --size "$size"
cut=$(/usr/bin/python3 -c "import onnx, sys
print(next(n.output[0] for n in onnx.load(sys.argv[1]).graph.node if n.op_type == 'Flatten'))" \
  "$out/$model.onnx")
grep -m1 'model name' /proc/cpuinfo
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
for frozen in 1 0; do
  common=(--batch "$batch" --steps "$steps" --threads "$threads" --frozen "$frozen")
  ours=$(bazel-bin/bench/finetune_bench --onnx "$out/$model.onnx" --cut "$cut" "${common[@]}" |
    grep '^RESULT')
  torch=$(/usr/bin/python3 -W ignore bench/torch_finetune.py --model "$model" \
    --onnx "$out/$model.onnx" "${common[@]}" | grep '^RESULT')
  a=$(field "$ours" images_per_s) b=$(field "$torch" images_per_s)
  echo "RESULT frozen=$frozen ours_images_per_s=$a torch_images_per_s=$b" \
    "ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')" \
    "import_ms=$(field "$ours" import_ms)"
done
