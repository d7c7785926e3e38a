#!/usr/bin/env bash
# Installs every Debian package SparseTrain needs to build, test, benchmark and run its demo.
# Idempotent: when everything is present it only checks and returns.
set -euo pipefail

PACKAGES=(
  # build and test (pkg-config and cmake: the install test builds apps as users do; unzip reads jars)
  bazel-bootstrap g++ libgtest-dev libhwy-dev libpthreadpool-dev zlib1g-dev nlohmann-json3-dev
  pkg-config cmake unzip
  # fuzzing: clang with libFuzzer and the sanitizers' runtimes (tests/fuzz)
  clang-14 libclang-rt-14-dev
  # ONNX import and export: the ONNX protobuf schema and its runtime
  libonnx-dev libprotobuf-dev
  # benchmark baseline
  libdnnl-dev
  # bindings: SWIG plus each language's toolchain and test runner
  swig openjdk-17-jdk-headless junit5 mono-devel nunit-console golang-go
  # the Java binding's Maven packaging, offline: Maven and the plugins a jar project uses
  maven libmaven-install-plugin-java libmaven-compiler-plugin-java libmaven-jar-plugin-java
  libmaven-resources-plugin-java libsurefire-java
  # the C# binding's NuGet package
  nuget
  # the demo: data set, plot; reference scripts: PyTorch, torchvision, numpy, ONNX (python)
  dataset-fashion-mnist gnuplot-nox python3-torch python3-torchvision python3-numpy python3-onnx
  # aarch64: the cross compiler, user-mode emulation and the arm64 builds of the libraries above
  # (libonnx1 without libonnx-dev: that package's libonnxifi cannot be co-installed with amd64's,
  # and the ONNX headers are the amd64 package's; third_party links the library by its soname)
  g++-aarch64-linux-gnu qemu-user libc6:arm64 libstdc++6:arm64 libhwy-dev:arm64 libgtest-dev:arm64 zlib1g-dev:arm64
  libonnx1:arm64 libprotobuf-dev:arm64
)

# arm64 packages that cannot be co-installed with their amd64 builds (not Multi-Arch: same; the
# amd64 ones are needed too) are unpacked, not installed, under ARM64_EXTRA_ROOT, which
# third_party/arm64/BUILD.bazel reads (WORKSPACE: @arm64_extra).
ARM64_EXTRA_ROOT=/opt/sparsetrain/arm64
ARM64_EXTRA=(libpthreadpool0)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
missing_extra=()
for p in "${ARM64_EXTRA[@]}"; do
  [[ -f "$ARM64_EXTRA_ROOT/$p.unpacked" ]] || missing_extra+=("$p")
done
((${#missing[@]} + ${#missing_extra[@]} == 0)) && exit 0

echo "bootstrap: installing ${missing[*]} ${missing_extra[*]}" >&2
SUDO=
[[ $(id -u) -eq 0 ]] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64
$SUDO apt-get update -q
if ((${#missing[@]} > 0)); then
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if ((${#missing_extra[@]} > 0)); then
  download=$(mktemp -d)
  trap 'rm -rf "$download"' EXIT
  for p in "${missing_extra[@]}"; do
    (cd "$download" && apt-get download -q "$p:arm64")
    $SUDO mkdir -p "$ARM64_EXTRA_ROOT"
    $SUDO dpkg-deb -x "$download/${p}_"*_arm64.deb "$ARM64_EXTRA_ROOT"
    $SUDO touch "$ARM64_EXTRA_ROOT/$p.unpacked"
  done
fi
