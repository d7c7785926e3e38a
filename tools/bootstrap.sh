#!/usr/bin/env bash
# Installs every Debian package SparseTrain needs to build, test, benchmark and run its demo.
# Idempotent: when everything is present it only checks and returns.
set -euo pipefail

PACKAGES=(
  # build and test (pkg-config and cmake: the install test builds apps as users do)
  bazel-bootstrap g++ libgtest-dev libhwy-dev libpthreadpool-dev zlib1g-dev nlohmann-json3-dev
  pkg-config cmake
  # fuzzing: clang with libFuzzer and the sanitizers' runtimes (tests/fuzz)
  clang-14 libclang-rt-14-dev
  # ONNX import and export: the ONNX protobuf schema and its runtime
  libonnx-dev libprotobuf-dev
  # benchmark baseline
  libdnnl-dev
  # bindings: SWIG plus each language's toolchain and test runner
  swig openjdk-17-jdk-headless junit5 mono-devel nunit-console golang-go
  # the demo: data set, plot; reference scripts: PyTorch, torchvision, numpy, ONNX (python)
  dataset-fashion-mnist gnuplot-nox python3-torch python3-torchvision python3-numpy python3-onnx
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

echo "bootstrap: installing ${missing[*]}" >&2
SUDO=
[[ $(id -u) -eq 0 ]] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
