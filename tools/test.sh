#!/usr/bin/env bash
# Runs the whole test suite: every kernel on every ISA the CPU supports, then the suite again
# with the ISA capped at AVX2 (the fallback path must pass on its own).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/bootstrap.sh

bazel test //... "$@"
SPARSETRAIN_ISA=avx2 bazel test //... "$@"
