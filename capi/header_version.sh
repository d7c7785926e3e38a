#!/usr/bin/env bash
# Prints the C API's version as the header defines it ("1.4.0"): the one place that reads it, for
# the install script, the packages' genrules (via //capi:version.txt) and the packaging tests.
# Usage: capi/header_version.sh HEADER
set -euo pipefail
sed -n 's/^#define ST_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\).*/\2/p' "$1" | paste -sd.
