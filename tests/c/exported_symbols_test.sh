#!/usr/bin/env bash
# Usage: exported_symbols_test.sh LIBRARY EXPECTED_LIST [MACHINE]
# Fails, showing the difference, unless LIBRARY's dynamic symbols are exactly EXPECTED_LIST and
# its SONAME is libsparsetrain.so.<ABI major> (and, given MACHINE, it is built for that machine as
# readelf names it: AArch64 for the cross build tools/test.sh checks).
set -euo pipefail
library=$1 expected=$2 machine=${3:-}
if [[ -n "$machine" ]]; then
  actual_machine=$(readelf -h "$library" | sed -n 's/^ *Machine: *//p')
  if [[ "$actual_machine" != "$machine" ]]; then
    echo "$library is built for '$actual_machine', expected '$machine'" >&2
    exit 1
  fi
fi
actual=$(nm -D --defined-only "$library" | awk '$3 != "" && $3 !~ /^SPARSETRAIN_/ {print $3}' | sort)
if ! diff -u "$expected" <(echo "$actual"); then
  echo "exported symbols differ from $expected (update it only for a deliberate ABI change)" >&2
  exit 1
fi
soname=$(readelf -d "$library" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
if [[ "$soname" != "libsparsetrain.so.1" ]]; then
  echo "SONAME is '$soname', expected libsparsetrain.so.1" >&2
  exit 1
fi
echo "$(echo "$actual" | wc -l) symbols, SONAME $soname${machine:+, $machine}"
