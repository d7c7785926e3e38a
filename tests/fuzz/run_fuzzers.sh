#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, AddressSanitizer and UBSan: --config=fuzz) and runs each
# for SECONDS from its seed corpus (tests/fuzz/corpus/<name>), new inputs going to a scratch copy.
# Prints one line per harness, "//tests/fuzz:<harness> PASSED" or "FAILED", as bazel test does
# (tools/test.sh counts them), after libFuzzer's last report (its run count: "#N DONE").
# Usage: tests/fuzz/run_fuzzers.sh [SECONDS [BAZEL_FLAG...]]   (60 s; flags: e.g. --define=avx512=off)
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
flags=("${@:2}")
harnesses=(onnx_import_fuzzer:onnx checkpoint_fuzzer:checkpoint capi_fuzzer:capi)
targets=()
for h in "${harnesses[@]}"; do targets+=("//tests/fuzz:${h%%:*}"); done
if ! bazel build --config=fuzz "${flags[@]}" "${targets[@]}"; then
  for t in "${targets[@]}"; do echo "$t FAILED TO BUILD"; done
  exit 1
fi
status=0
for h in "${harnesses[@]}"; do
  name=${h%%:*} corpus=${h##*:}
  scratch=$(mktemp -d)
  binary=$(bazel cquery --config=fuzz "${flags[@]}" "//tests/fuzz:$name" --output=starlark \
    --starlark:expr='target.files.to_list()[0].path' 2>/dev/null)
  if "$binary" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 \
      "$scratch" "tests/fuzz/corpus/$corpus" 2>"$scratch.log"; then
    grep -E '^#[0-9]+ *DONE|stat::number_of_executed_units' "$scratch.log" | tail -2
    echo "//tests/fuzz:$name PASSED"
  else
    tail -40 "$scratch.log"
    echo "//tests/fuzz:$name FAILED"
    status=1
  fi
  rm -rf "$scratch" "$scratch.log"
done
exit "$status"
