#!/usr/bin/env bash
# Runs the C# binding's NUnit tests on Mono against the native library, with the C API's
# reference losses. Usage: run_csharp_test.sh NATIVE_LIBRARY BINDING_DLL TEST_DLL REFERENCE_PROGRAM
# ONNX_FILE (one of tests/onnx/, whose directory the tests read models from)
set -euo pipefail
native=$(realpath "$1") dll=$(realpath "$2") tests=$(realpath "$3") reference=$4
export SPARSETRAIN_TESTDATA=$(dirname "$(realpath "$5")")
work="$TEST_TMPDIR/csharp"
mkdir -p "$work"
cp "$dll" "$tests" "$work/"
"$reference" > "$TEST_TMPDIR/reference_losses.txt"
export SPARSETRAIN_REFERENCE="$TEST_TMPDIR/reference_losses.txt"
export HOME="$TEST_TMPDIR" LD_LIBRARY_PATH="$(dirname "$native")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cd "$work"
nunit-console -nologo -noshadow "$(basename "$tests")"
