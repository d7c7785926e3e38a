#!/usr/bin/env bash
# An app outside the tree builds and runs against sparsetrain.jar alone, as the README shows: the
# jar carries and loads its JNI library. The javadoc jar documents the API, not the SWIG glue.
# Usage: jar_app_test.sh SPARSETRAIN_JAR JAVADOC_JAR HEADER APP_JAVA
set -euo pipefail
jar=$(realpath "$1") javadoc=$(realpath "$2") header=$(realpath "$3") app=$(realpath "$4")
jdk=/usr/lib/jvm/java-17-openjdk-amd64/bin
work=${TEST_TMPDIR:-$(mktemp -d)}
mkdir -p "$work/app"
cd "$work/app"
cp "$jar" sparsetrain.jar
cp "$app" App.java
"$jdk/javac" -cp sparsetrain.jar App.java
mkdir -p "$work/tmp"
out=$("$jdk/java" -Djava.io.tmpdir="$work/tmp" -cp sparsetrain.jar:. App)
want="$(sed -n 's/^#define ST_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\).*/\2/p' "$header" | paste -sd.) 2"
[[ "$out" == "$want" ]] || { echo "the app printed '$out', expected '$want'" >&2; exit 1; }
echo "javac and java -cp sparsetrain.jar: $out"
leftovers=$(ls -A "$work/tmp")
[[ -z "$leftovers" ]] || { echo "left in java.io.tmpdir: $leftovers" >&2; exit 1; }

docs=$(unzip -Z1 "$javadoc")
for page in index.html org/sparsetrain/Model.html org/sparsetrain/Model.Builder.html; do
  grep -qx "$page" <<<"$docs" || { echo "javadoc jar lacks $page" >&2; exit 1; }
done
if grep -q '^org/sparsetrain/internal/' <<<"$docs"; then
  echo "javadoc jar documents the SWIG glue" >&2
  exit 1
fi
echo "javadoc jar: $(grep -c '\.html$' <<<"$docs") pages"
