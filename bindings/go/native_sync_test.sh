#!/usr/bin/env bash
# Fails unless the committed internal/native files are SWIG's output for bindings/sparsetrain.i.
# Usage: native_sync_test.sh COMMITTED_GO COMMITTED_C GENERATED_GO GENERATED_C
set -euo pipefail
status=0
for i in 1 2; do
  committed=${!i} generated_index=$((i + 2))
  generated=${!generated_index}
  if ! diff -u "$committed" "$generated" >/dev/null; then
    echo "$committed is not SWIG's output for bindings/sparsetrain.i; regenerate it:" >&2
    echo "  bazel build //bindings/go:swig && cp bazel-bin/bindings/go/swig/* bindings/go/internal/native/" >&2
    status=1
  fi
done
exit $status
