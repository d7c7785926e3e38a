#!/usr/bin/env bash
# Runs the Go binding's tests: assembles the module with the SWIG-generated package, then
# `go test` with cgo linked against libsparsetrain.so.1, comparing with the C API's reference
# losses. Usage: run_go_test.sh LIBRARY HEADER GENERATED_GO GENERATED_C REFERENCE_PROGRAM SOURCES...
set -euo pipefail
library=$(realpath "$1") header=$(realpath "$2") generated_go=$3 generated_c=$4 reference=$5
shift 5
module="$TEST_TMPDIR/module"
mkdir -p "$module/internal/native"
for source in "$@"; do cp "$source" "$module/"; done
cp "$generated_go" "$generated_c" "$module/internal/native/"
"$reference" > "$TEST_TMPDIR/reference_losses.txt"
export SPARSETRAIN_REFERENCE="$TEST_TMPDIR/reference_losses.txt"
export HOME="$TEST_TMPDIR" GOPATH="$TEST_TMPDIR/gopath" GOCACHE="$TEST_TMPDIR/gocache"
export GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=1
export CGO_CFLAGS="-I$(dirname "$(dirname "$header")")"
export CGO_LDFLAGS="$library -Wl,-rpath,$(dirname "$library")"
cd "$module"
go vet .  # the SWIG-generated internal/native does not pass vet
go test -count=1 ./...
