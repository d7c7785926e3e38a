#!/usr/bin/env bash
# Assembles the Go module (sources plus the SWIG-generated internal/native package) and runs go
# with cgo linked against libsparsetrain.so.1:
#   go_module.sh test ...      vet and test the package against the C API's reference losses and
#                              the ONNX models of tests/onnx (an ONNX file there follows the --)
#   go_module.sh example ...   run examples/finetune (bazel run //bindings/go:finetune --
#                              [CHECKPOINT | BACKBONE.onnx [SCRATCH.onnx]])
# Arguments after the mode: LIBRARY HEADER GENERATED_GO GENERATED_C REFERENCE_PROGRAM SOURCES... --
# [EXAMPLE ARGS...]
set -euo pipefail
mode=$1 library=$(realpath "$2") header=$(realpath "$3") generated_go=$4 generated_c=$5 reference=$6
shift 6
work=${TEST_TMPDIR:-$(mktemp -d)}
module="$work/module"
mkdir -p "$module/internal/native"
while [[ $# -gt 0 && "$1" != "--" ]]; do
  # Sources keep their path below bindings/go.
  relative=${1#*bindings/go/}
  mkdir -p "$module/$(dirname "$relative")"
  cp "$1" "$module/$relative"
  shift
done
[[ $# -gt 0 ]] && shift
cp "$generated_go" "$generated_c" "$module/internal/native/"
export HOME="$work" GOPATH="$work/gopath" GOCACHE="$work/gocache"
export GOFLAGS=-mod=mod GOPROXY=off CGO_ENABLED=1
export CGO_CFLAGS="-I$(dirname "$(dirname "$header")")"
export CGO_LDFLAGS="$library -Wl,-rpath,$(dirname "$library")"
if [[ "$mode" == test ]]; then
  "$reference" > "$work/reference_losses.txt"
  export SPARSETRAIN_REFERENCE="$work/reference_losses.txt"
  SPARSETRAIN_TESTDATA=$(dirname "$(realpath "$1")")
  export SPARSETRAIN_TESTDATA
  cd "$module"
  unformatted=$(gofmt -l ./*.go examples)
  if [[ -n "$unformatted" ]]; then
    echo "not gofmt-formatted: $unformatted" >&2
    exit 1
  fi
  go vet . ./examples/...  # the SWIG-generated internal/native does not pass vet
  go test -count=1 ./...
else
  (cd "$module" && go build -o "$work/finetune" ./examples/finetune)
  cd "${BUILD_WORKING_DIRECTORY:-.}"
  "$work/finetune" "$@"
fi
