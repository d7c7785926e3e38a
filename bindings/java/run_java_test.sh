#!/usr/bin/env bash
# Runs the Java binding's JUnit 5 tests against the JNI library, with the C API's reference losses.
# Usage: run_java_test.sh JNI_LIBRARY SPARSETRAIN_JAR TEST_JAR REFERENCE_PROGRAM ONNX_FILE
# (ONNX_FILE: one of tests/onnx/, whose directory the tests read models from)
set -euo pipefail
jni=$(realpath "$1") jar=$2 tests=$3 reference=$4 testdata=$(dirname "$(realpath "$5")")
java=/usr/lib/jvm/java-17-openjdk-amd64/bin/java
"$reference" > "$TEST_TMPDIR/reference_losses.txt"
exec "$java" -Xcheck:jni -Dsparsetrain.library="$jni" -Dsparsetrain.reference="$TEST_TMPDIR/reference_losses.txt" \
  -Dsparsetrain.testdata="$testdata" \
  -jar /usr/share/java/junit-platform-console-standalone.jar \
  -cp "$jar:$tests" --select-class org.sparsetrain.SparseTrainTest --select-class org.sparsetrain.BadInputTest \
  --disable-banner --disable-ansi-colors --details=tree --fail-if-no-tests
