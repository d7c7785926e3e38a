#!/usr/bin/env bash
# Installs the library as tools/install.sh does and builds a C app against it from a directory
# of its own, as a user would: with pkg-config, and with CMake's find_package.
# Usage: install_test.sh INSTALL_SCRIPT LIBRARY HEADER
set -euo pipefail
install_script=$1 library=$2 header=$3
work=${TEST_TMPDIR:-$(mktemp -d)}
"$install_script" "$library" "$header" "$work/prefix" >/dev/null

for f in include/sparsetrain/sparsetrain.h lib/libsparsetrain.so.1 lib/libsparsetrain.so \
  lib/pkgconfig/sparsetrain.pc lib/cmake/sparsetrain/sparsetrainConfig.cmake; do
  [[ -e "$work/prefix/$f" ]] || { echo "missing $f" >&2; exit 1; }
done
[[ $(readlink "$work/prefix/lib/libsparsetrain.so") == libsparsetrain.so.1 ]]

mkdir -p "$work/app"
cat > "$work/app/app.c" <<'C'
#include <sparsetrain/sparsetrain.h>
#include <stdio.h>

/* One training step of a tiny model: the library links, loads and runs. */
int main(void) {
  static float images[2 * 64];
  const int32_t labels[2] = {0, 1};
  st_context* context = NULL;
  st_model* model = NULL;
  st_step_result r;
  if (st_check_abi(ST_VERSION) != ST_OK || st_context_create(1, NULL, &context) != ST_OK ||
      st_model_create(context, 1, 8, 8, &model) != ST_OK ||
      st_model_add_conv2d(model, NULL, 4, 3, 1, -1, 1) != ST_OK ||
      st_model_add_relu(model, NULL) != ST_OK || st_model_add_flatten(model, NULL) != ST_OK ||
      st_model_add_linear(model, NULL, 2, 1) != ST_OK || st_model_finish(model, 1) != ST_OK ||
      st_model_train_step(model, images, 2 * 64, labels, 2, &r) != ST_OK) {
    fprintf(stderr, "%s\n", st_last_error_message());
    return 1;
  }
  printf("%s %d\n", st_version_string(), r.examples == 2);
  st_model_destroy(model);
  st_context_destroy(context);
  return 0;
}
C
want=$("$(dirname "$install_script")/header_version.sh" "$header")
cd "$work/app"
version=$(PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --modversion sparsetrain)
[[ "$version" == "$want" ]] || { echo "pkg-config says $version, the header $want" >&2; exit 1; }
cc -std=c11 app.c $(PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --cflags --libs sparsetrain) \
  -Wl,-rpath,"$work/prefix/lib" -o app
out=$(./app)
[[ "$out" == "$version 1" ]] || { echo "pkg-config build printed '$out', expected '$version 1'" >&2; exit 1; }
echo "pkg-config: sparsetrain $version builds and runs"

if command -v cmake >/dev/null; then
  mkdir -p cmake && cd cmake
  cat > CMakeLists.txt <<'CMAKE'
cmake_minimum_required(VERSION 3.13)
project(app C)
find_package(sparsetrain 1 REQUIRED)
add_executable(app ../app.c)
target_link_libraries(app PRIVATE sparsetrain::sparsetrain)
CMAKE
  cmake -S . -B build -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
  cmake --build build >/dev/null
  out=$(./build/app)
  [[ "$out" == "$version 1" ]] || { echo "CMake build printed '$out'" >&2; exit 1; }
  echo "cmake: find_package(sparsetrain) builds and runs"
fi
