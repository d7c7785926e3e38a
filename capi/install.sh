#!/usr/bin/env bash
# Installs the C library for apps to build against: PREFIX/include/sparsetrain/sparsetrain.h,
# PREFIX/lib/libsparsetrain.so.1 with its libsparsetrain.so link, a pkg-config file and a CMake
# package (sparsetrain::sparsetrain). The version comes from the header.
# Usage: capi/install.sh LIBRARY HEADER PREFIX   (tools/install.sh builds and calls it)
set -euo pipefail
library=$1 header=$2 prefix=$3
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
version=$("$(dirname "${BASH_SOURCE[0]}")/header_version.sh" "$header")
major=${version%%.*}

install -d "$prefix/include/sparsetrain" "$prefix/lib/pkgconfig" "$prefix/lib/cmake/sparsetrain"
install -m 644 "$header" "$prefix/include/sparsetrain/sparsetrain.h"
install -m 755 "$library" "$prefix/lib/libsparsetrain.so.$major"
ln -sf "libsparsetrain.so.$major" "$prefix/lib/libsparsetrain.so"

cat > "$prefix/lib/pkgconfig/sparsetrain.pc" <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: sparsetrain
Description: CPU training runtime for convolutional networks that skips the zeros ReLU creates
Version: $version
Libs: -L\${libdir} -lsparsetrain
Cflags: -I\${includedir}
PC

cat > "$prefix/lib/cmake/sparsetrain/sparsetrainConfig.cmake" <<CMAKE
# find_package(sparsetrain) gives the imported target sparsetrain::sparsetrain.
get_filename_component(_sparsetrain_prefix "\${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET sparsetrain::sparsetrain)
  add_library(sparsetrain::sparsetrain SHARED IMPORTED)
  set_target_properties(sparsetrain::sparsetrain PROPERTIES
    IMPORTED_LOCATION "\${_sparsetrain_prefix}/lib/libsparsetrain.so.$major"
    IMPORTED_SONAME "libsparsetrain.so.$major"
    INTERFACE_INCLUDE_DIRECTORIES "\${_sparsetrain_prefix}/include")
endif()
unset(_sparsetrain_prefix)
CMAKE

cat > "$prefix/lib/cmake/sparsetrain/sparsetrainConfigVersion.cmake" <<CMAKE
# Compatible within one major version, as the ABI is.
set(PACKAGE_VERSION "$version")
if(PACKAGE_FIND_VERSION_MAJOR STREQUAL "$major" AND NOT PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION VERSION_EQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
else()
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
endif()
CMAKE
echo "installed sparsetrain $version into $prefix"
