#!/usr/bin/env bash
# Runs an aarch64 program under user-mode emulation on a CPU with NEON, SVE and SVE2 whose SVE
# vectors are SPARSETRAIN_SVE_BYTES wide (16, 32 or 64; default 32). Bazel's --run_under for
# --config=aarch64 tests (tools/test.sh runs them at each width). The loader and C library are
# the arm64 multiarch ones (libc6:arm64), not the cross compiler's sysroot copy: a program
# loaded with that sysroot's ld.so but the multiarch libc hangs in its first pthread_create.
set -euo pipefail
bytes=${SPARSETRAIN_SVE_BYTES:-32}
case "$bytes" in
  16 | 32 | 64) ;;
  *)
    echo "qemu_run: SPARSETRAIN_SVE_BYTES must be 16, 32 or 64, got '$bytes'" >&2
    exit 2
    ;;
esac
exec qemu-aarch64 -cpu "max,sve-default-vector-length=$bytes" \
  -E LD_LIBRARY_PATH=/opt/sparsetrain/arm64/usr/lib/aarch64-linux-gnu "$@"
