#!/usr/bin/env bash
# bazel run //bindings/csharp:finetune -- [CHECKPOINT | BACKBONE.onnx [SCRATCH.onnx]]: the C#
# fine-tuning example on Mono.
# Usage: run_example.sh NATIVE_LIBRARY BINDING_DLL EXAMPLE_EXE [CHECKPOINT]
set -euo pipefail
native=$(realpath "$1") dll=$(realpath "$2") exe=$(realpath "$3")
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$dll" "$exe" "$work/"
export LD_LIBRARY_PATH="$(dirname "$native")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cd "${BUILD_WORKING_DIRECTORY:-.}"
mono "$work/$(basename "$exe")" "$@"
