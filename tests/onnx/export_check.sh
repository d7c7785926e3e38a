#!/usr/bin/env bash
# Usage: export_check.sh TRAINED_EXPORT EXPORT_CHECK_PY MODEL...
# Exports trained models (TRAINED_EXPORT) and checks the files with ONNX and torchvision.
set -euo pipefail
tool=$1 check=$2
shift 2
"$tool" "$TEST_TMPDIR" "$@"
HOME=$TEST_TMPDIR /usr/bin/python3 -W ignore "$check" "$TEST_TMPDIR" "$@"
