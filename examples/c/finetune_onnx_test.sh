#!/usr/bin/env bash
# The bring-your-own-model example end to end at a small size (a backbone trained on 3000 images,
# fine-tuned on 100): it must import both files, train and print three accuracies in [0, 1].
# Whether fine-tuning beats training from scratch needs the full size (tools/finetune_onnx_demo.sh).
# Usage: finetune_onnx_test.sh FINETUNE_ONNX PRETRAIN_PY EXPORT_PY (the module PRETRAIN_PY imports)
set -euo pipefail
example=$1 pretrain=$2
HOME=$TEST_TMPDIR /usr/bin/python3 -W ignore "$pretrain" "$TEST_TMPDIR" --epochs 1 --train-limit 3000
result=$("$example" "$TEST_TMPDIR/backbone.onnx" "$TEST_TMPDIR/scratch.onnx" 100 2 | tee /dev/stderr |
  grep '^RESULT')
for key in frozen_accuracy finetuned_accuracy scratch_accuracy; do
  value=$(tr ' ' '\n' <<<"$result" | sed -n "s/^$key=//p")
  awk -v v="$value" 'BEGIN { exit !(v != "" && v >= 0 && v <= 1) }' ||
    { echo "$key is '$value'" >&2; exit 1; }
done
