#!/usr/bin/env bash
# Runs the whole test suite: every kernel on every ISA the CPU supports, then the suite again
# with the ISA capped at AVX2 (the fallback path must pass on its own), then the C API tests
# under AddressSanitizer and UndefinedBehaviorSanitizer, then each libFuzzer harness for 45 s
# (tests/fuzz), then the aarch64 build under qemu: the kernel suites, the PyTorch goldens and the
# C API test on every ARM target with 256-bit SVE vectors, their SVE targets again at 128 and 512
# bits, the ARM library's exported symbols, and the Java jar carrying both architectures' JNI
# libraries (tools/java_jar.sh). Ends with one line, "tests: N passed, M failed",
# counting test targets over the runs.
set -uo pipefail
cd "$(dirname "$0")/.."
tools/bootstrap.sh || exit 1

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
bazel test //... "$@" 2>&1 | tee -a "$log" || status=1
SPARSETRAIN_ISA=avx2 bazel test //... "$@" 2>&1 | tee -a "$log" || status=1
# Sanitizer builds compile only the kernels that can run here (see //third_party:hwy).
sanitized=()
grep -qw avx512f /proc/cpuinfo || sanitized=(--define=avx512=off)
bazel test --config=asan "${sanitized[@]}" //tests/c/... "$@" 2>&1 | tee -a "$log" || status=1
tests/fuzz/run_fuzzers.sh 45 "${sanitized[@]}" 2>&1 | tee -a "$log" || status=1

# The ARM suite. The runtime's own tests (graph, thread pool, checkpoints, ONNX, bindings) test
# code that is the same on every architecture; they run above.
ARM_TESTS=(
  //tests:isa_test //tests:reorder_test //tests:tensor_test //tests:conv_reference_test
  //tests:conv_dense_test //tests:conv_sparse_test //tests:conv_depthwise_test
  //tests:conv_shape_test //tests:conv_choice_test //tests:conv_op_test //tests:elementwise_test
  //tests:activation_test //tests:channels_test //tests:pool_test //tests:layer_kernels_test
  //tests:cache_sizes_test //tests:zero_allocation_test //tests:pytorch_golden_test
  //tests/c:capi_test
)
SPARSETRAIN_SVE_BYTES=32 bazel test --config=aarch64 "${ARM_TESTS[@]}" //capi:libsparsetrain.so.1 \
  "$@" 2>&1 | tee -a "$log" || status=1
# The SIMD kernels again at the other SVE widths; NEON does not depend on the SVE vector length.
ARM_SIMD_TESTS=(
  //tests:isa_test //tests:conv_dense_test //tests:conv_sparse_test //tests:conv_depthwise_test
  //tests:elementwise_test //tests:activation_test //tests:pool_test //tests:layer_kernels_test
)
for bytes in 16 64; do
  SPARSETRAIN_SVE_BYTES=$bytes bazel test --config=aarch64 --test_filter='-*/NEON' \
    "${ARM_SIMD_TESTS[@]}" "$@" 2>&1 | tee -a "$log" || status=1
done
arm_library="$(bazel info --config=aarch64 bazel-bin 2>/dev/null)/capi/libsparsetrain.so.1"
if tests/c/exported_symbols_test.sh "$arm_library" capi/exported_symbols.txt AArch64 2>&1 |
  tee -a "$log"; then
  echo "//capi:libsparsetrain.so.1 (aarch64) exported symbols PASSED" | tee -a "$log"
else
  echo "//capi:libsparsetrain.so.1 (aarch64) exported symbols FAILED" | tee -a "$log"
  status=1
fi

# The Java jar for both architectures.
java_jars=$(mktemp -d)
tools/java_jar.sh "$java_jars" -c fastbuild "$@" 2>&1 | tee -a "$log"
if [[ $(unzip -Z1 "$java_jars/sparsetrain.jar" 2>/dev/null | grep -c '/libsparsetrain_jni.so$') == 2 ]]; then
  echo "//bindings/java:sparsetrain.jar (x86_64 and aarch64) PASSED" | tee -a "$log"
else
  echo "//bindings/java:sparsetrain.jar (x86_64 and aarch64) FAILED" | tee -a "$log"
  status=1
fi
rm -rf "$java_jars"

passed=$(grep -cE '^//.* PASSED' "$log")
failed=$(grep -cE '^//.* (FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD)' "$log")
echo "tests: ${passed} passed, ${failed} failed"
exit "$status"
