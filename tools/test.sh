#!/usr/bin/env bash
# Runs the whole test suite: every kernel on every ISA the CPU supports, then the suite again
# with the ISA capped at AVX2 (the fallback path must pass on its own), then the C API tests
# under AddressSanitizer and UndefinedBehaviorSanitizer, then each libFuzzer harness for 45 s
# (tests/fuzz). Ends with one line, "tests: N passed, M failed", counting test targets over the
# runs.
set -uo pipefail
cd "$(dirname "$0")/.."
tools/bootstrap.sh || exit 1

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
bazel test //... "$@" 2>&1 | tee -a "$log" || status=1
SPARSETRAIN_ISA=avx2 bazel test //... "$@" 2>&1 | tee -a "$log" || status=1
bazel test --config=asan //tests/c/... "$@" 2>&1 | tee -a "$log" || status=1
tests/fuzz/run_fuzzers.sh 45 2>&1 | tee -a "$log" || status=1

passed=$(grep -cE '^//.* PASSED' "$log")
failed=$(grep -cE '^//.* (FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD)' "$log")
echo "tests: ${passed} passed, ${failed} failed"
exit "$status"
