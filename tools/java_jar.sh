#!/usr/bin/env bash
# Builds sparsetrain.jar carrying the JNI library for linux-x86_64 and linux-aarch64, with its
# Maven POM (sparsetrain.pom) and javadoc jar beside it:
#   tools/java_jar.sh OUT_DIR [BAZEL_FLAGS...]   (default flags: -c opt)
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -ge 1 ]] || { echo "usage: tools/java_jar.sh OUT_DIR [BAZEL_FLAGS...]" >&2; exit 2; }
out=$1
shift
[[ "$out" = /* ]] || out=$OLDPWD/$out
flags=("$@")
((${#flags[@]} > 0)) || flags=(-c opt)
tools/bootstrap.sh >/dev/null
output() {  # the file a target builds, in the configuration of the flags given
  bazel cquery "$@" --output=starlark --starlark:expr='target.files.to_list()[0].path' 2>/dev/null
}
bazel build "${flags[@]}" //bindings/java:sparsetrain.jar //bindings/java:sparsetrain-javadoc.jar \
  //bindings/java:sparsetrain.pom >&2
bazel build "${flags[@]}" --config=aarch64 //bindings/java:sparsetrain.jar >&2
x86_jar=$PWD/$(output "${flags[@]}" //bindings/java:sparsetrain.jar)
arm_jar=$PWD/$(output "${flags[@]}" --config=aarch64 //bindings/java:sparsetrain.jar)
javadoc=$PWD/$(output "${flags[@]}" //bindings/java:sparsetrain-javadoc.jar)
pom=$PWD/$(output "${flags[@]}" //bindings/java:sparsetrain.pom)

mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$x86_jar" "$work/sparsetrain.jar"
chmod u+w "$work/sparsetrain.jar"
(cd "$work" && unzip -q "$arm_jar" 'org/sparsetrain/native/linux-aarch64/*' &&
  /usr/lib/jvm/java-17-openjdk-amd64/bin/jar uf sparsetrain.jar org/sparsetrain/native)
mv "$work/sparsetrain.jar" "$out/sparsetrain.jar.tmp" && mv "$out/sparsetrain.jar.tmp" "$out/sparsetrain.jar"
for f in "$javadoc" "$pom"; do
  cp "$f" "$out/$(basename "$f").tmp" && mv "$out/$(basename "$f").tmp" "$out/$(basename "$f")"
done
echo "$out/sparsetrain.jar: $(unzip -Z1 "$out/sparsetrain.jar" | grep -c '/libsparsetrain_jni.so$') platforms"
