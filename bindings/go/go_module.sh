#!/usr/bin/env bash
# Copies the Go module out of the tree and builds it with the go tool alone, as a user does:
# cgo finds the library through its pkg-config file, installed as tools/install.sh installs it.
#   go_module.sh test ...      gofmt, vet and test the package against the C API's reference
#                              losses and the ONNX models of tests/onnx (an ONNX file there follows
#                              the --), then build and run an app of its own that requires the
#                              module through a replace directive
#   go_module.sh example ...   run examples/finetune (bazel run //bindings/go:finetune --
#                              [CHECKPOINT | BACKBONE.onnx [SCRATCH.onnx]])
# Arguments after the mode: INSTALL_SCRIPT LIBRARY HEADER REFERENCE_PROGRAM SOURCES... --
# [EXAMPLE ARGS...]
set -euo pipefail
mode=$1 install_script=$2 library=$3 header=$(realpath "$4") reference=$(realpath "$5")
shift 5
work=${TEST_TMPDIR:-$(mktemp -d)}
"$install_script" "$library" "$header" "$work/prefix" >/dev/null
version=$("$(dirname "$install_script")/header_version.sh" "$header")
module="$work/module"
while [[ $# -gt 0 && "$1" != "--" ]]; do
  # Sources keep their path below bindings/go.
  relative=${1#*bindings/go/}
  mkdir -p "$module/$(dirname "$relative")"
  cp "$1" "$module/$relative"
  shift
done
[[ $# -gt 0 ]] && shift
export HOME="$work" GOPATH="$work/gopath" GOCACHE="$work/gocache" GOPROXY=off CGO_ENABLED=1
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" LD_LIBRARY_PATH="$work/prefix/lib"
unset GOFLAGS CGO_CFLAGS CGO_LDFLAGS
if [[ "$mode" == test ]]; then
  "$reference" > "$work/reference_losses.txt"
  export SPARSETRAIN_REFERENCE="$work/reference_losses.txt"
  SPARSETRAIN_TESTDATA=$(dirname "$(realpath "$1")")
  export SPARSETRAIN_TESTDATA
  cd "$module"
  unformatted=$(gofmt -l ./*.go examples internal/native/cgo.go)
  if [[ -n "$unformatted" ]]; then
    echo "not gofmt-formatted: $unformatted" >&2
    exit 1
  fi
  go vet . ./examples/...  # the SWIG-generated internal/native does not pass vet
  # Each test's verdict and the sweep's call count; the whole output if anything fails.
  go test -count=1 -v ./... > "$work/go_test.log" 2>&1 || { cat "$work/go_test.log"; exit 1; }
  grep -E '^(--- |ok |PASS)|calls with' "$work/go_test.log"

  # An app outside the module, as its README shows.
  mkdir -p "$work/app"
  cd "$work/app"
  go mod init example.com/app 2>/dev/null
  go mod edit -require sparsetrain.org/sparsetrain@v0.0.0 -replace sparsetrain.org/sparsetrain="$module"
  cat > main.go <<'GO'
package main

import (
	"fmt"
	"log"

	"sparsetrain.org/sparsetrain"
)

// One training step of a tiny model: the module builds, links and runs.
func main() {
	ctx, err := sparsetrain.NewContext(1)
	if err != nil {
		log.Fatal(err)
	}
	defer ctx.Close()
	m, err := sparsetrain.NewBuilder(ctx, sparsetrain.Shape{C: 1, H: 8, W: 8}).
		Conv2d("", sparsetrain.ConvOptions{OutChannels: 4, Kernel: 3, Pad: sparsetrain.SamePad}).Relu().
		Flatten().Linear("", 2).Build(1)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	r, err := m.TrainStep(make([]float32, 2*64), []int32{0, 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sparsetrain.Version(), r.Examples)
}
GO
  go vet ./...
  go build .
  out=$(./app)
  want="$version 2"
  [[ "$out" == "$want" ]] || { echo "the app printed '$out', expected '$want'" >&2; exit 1; }
  echo "an app outside the module: go vet, go build and run: $out"
else
  (cd "$module" && go build -o "$work/finetune" ./examples/finetune)
  cd "${BUILD_WORKING_DIRECTORY:-.}"
  "$work/finetune" "$@"
fi
