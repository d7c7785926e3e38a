#!/usr/bin/env bash
# The main job. Until the training runtime lands it runs the kernel demo: which ISAs this CPU
# offers, and a convolution layer's tensors converted through the kernels' blocked layouts.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/bootstrap.sh

bazel run -c opt //examples:kernel_demo -- "$@"
