#!/usr/bin/env bash
# Bring-your-own-model, end to end: trains a backbone in PyTorch on Fashion-MNIST classes 0-4 and
# exports it to ONNX (tools/pretrain_backbone.py), then imports it through the C API, gives it a
# new head for classes 5-9 and trains on a few hundred examples, against the same network from
# scratch (examples/c/finetune_onnx.c). Ends with the example's RESULT line.
# Usage: tools/finetune_onnx_demo.sh [OUT_DIR] [EXAMPLES] [EPOCHS]   (finetune_onnx_out, 200, 10)
set -euo pipefail
cd "$(dirname "$0")/.."
tools/bootstrap.sh >/dev/null
out=${1:-finetune_onnx_out} examples=${2:-200} epochs=${3:-10}
bazel build -c opt //examples/c:finetune_onnx >/dev/null 2>"$out.build.log" ||
  { cat "$out.build.log" >&2; exit 1; }
rm -f "$out.build.log"
/usr/bin/python3 -W ignore tools/pretrain_backbone.py "$out"
bazel-bin/examples/c/finetune_onnx "$out/backbone.onnx" "$out/scratch.onnx" "$examples" "$epochs"
