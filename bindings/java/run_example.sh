#!/usr/bin/env bash
# bazel run //bindings/java:finetune -- [CHECKPOINT | BACKBONE.onnx [SCRATCH.onnx]]: the Java
# fine-tuning example.
# Usage: run_example.sh JNI_LIBRARY SPARSETRAIN_JAR EXAMPLES_JAR [CHECKPOINT]
set -euo pipefail
jni=$(realpath "$1") jar=$(realpath "$2") examples=$(realpath "$3")
shift 3
cd "${BUILD_WORKING_DIRECTORY:-.}"
exec /usr/lib/jvm/java-17-openjdk-amd64/bin/java -Dsparsetrain.library="$jni" -cp "$jar:$examples" \
  org.sparsetrain.examples.FineTune "$@"
