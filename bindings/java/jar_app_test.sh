#!/usr/bin/env bash
# An app outside the tree builds and runs against sparsetrain.jar alone, as the README shows: the
# jar carries and loads its JNI library. The SWIG glue is neither accessible to it nor documented.
# Usage: jar_app_test.sh SPARSETRAIN_JAR JAVADOC_JAR VERSION_TXT APP_JAVA
set -euo pipefail
jar=$(realpath "$1") javadoc=$(realpath "$2") version_file=$(realpath "$3") app=$(realpath "$4")
jdk=/usr/lib/jvm/java-17-openjdk-amd64/bin
work=${TEST_TMPDIR:-$(mktemp -d)}
mkdir -p "$work/app"
cd "$work/app"
cp "$jar" sparsetrain.jar
cp "$app" App.java
"$jdk/javac" -cp sparsetrain.jar App.java
mkdir -p "$work/tmp"
out=$("$jdk/java" -Djava.io.tmpdir="$work/tmp" -cp sparsetrain.jar:. App)
want="$(cat "$version_file") 2"
[[ "$out" == "$want" ]] || { echo "the app printed '$out', expected '$want'" >&2; exit 1; }
echo "javac and java -cp sparsetrain.jar: $out"
leftovers=$(ls -A "$work/tmp")
[[ -z "$leftovers" ]] || { echo "left in java.io.tmpdir: $leftovers" >&2; exit 1; }

docs=$(unzip -Z1 "$javadoc")
for page in index.html org/sparsetrain/Model.html org/sparsetrain/Model.Builder.html; do
  grep -qx "$page" <<<"$docs" || { echo "javadoc jar lacks $page" >&2; exit 1; }
done
if grep -q 'sparsetrain_native\|SWIGTYPE' <<<"$docs"; then
  echo "javadoc jar documents the SWIG glue" >&2
  exit 1
fi
mkdir -p "$work/glue"
cat > "$work/glue/Glue.java" <<'JAVA'
class Glue {
  public static void main(String[] args) {
    System.out.println(org.sparsetrain.sparsetrain_native.stb_version_string());
  }
}
JAVA
if "$jdk/javac" -cp sparsetrain.jar -d "$work/glue" "$work/glue/Glue.java" 2>"$work/glue/err"; then
  echo "an app can call the SWIG glue" >&2
  exit 1
fi
grep -q "is not public" "$work/glue/err" || { cat "$work/glue/err" >&2; exit 1; }
echo "the SWIG glue is not public: $(grep -m1 'is not public' "$work/glue/err")"
echo "javadoc jar: $(grep -c '\.html$' <<<"$docs") pages"
