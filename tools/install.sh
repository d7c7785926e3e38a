#!/usr/bin/env bash
# Builds the C library and installs it under PREFIX (capi/install.sh says what goes where):
#   tools/install.sh PREFIX
#   PKG_CONFIG_PATH=PREFIX/lib/pkgconfig cc app.c $(pkg-config --cflags --libs sparsetrain)
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -eq 1 ]] || { echo "usage: tools/install.sh PREFIX" >&2; exit 2; }
prefix=$1
[[ "$prefix" = /* ]] || prefix=$OLDPWD/$prefix
tools/bootstrap.sh >/dev/null
bazel build -c opt //capi:libsparsetrain.so.1 >&2
library=$(bazel cquery -c opt --output=starlark --starlark:expr='target.files.to_list()[0].path' \
  //capi:libsparsetrain.so.1 2>/dev/null)
capi/install.sh "$library" capi/include/sparsetrain/sparsetrain.h "$prefix"
