#!/usr/bin/env bash
# The main job. Until the training runtime lands it runs the kernel demo: which ISAs this CPU
# offers, then a VGG16 layer's three training passes with the dense and the sparse kernels at
# its profiled sparsity, the choice between them, and a check that they agree.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/bootstrap.sh

bazel run -c opt //examples:kernel_demo -- "$@"
