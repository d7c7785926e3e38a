#!/usr/bin/env bash
# Installs sparsetrain.jar with its POM and javadoc jar into a local Maven repository, then
# builds a Maven project outside the tree that depends on it and runs it, as the README shows
# (offline: Debian's Maven with bindings/java/maven/debian-settings.xml).
# Usage: maven_test.sh SPARSETRAIN_JAR POM JAVADOC_JAR SETTINGS HEADER
set -euo pipefail
jar=$(realpath "$1") pom=$(realpath "$2") javadoc=$(realpath "$3") settings=$(realpath "$4")
header=$(realpath "$5")
work=${TEST_TMPDIR:-$(mktemp -d)}
export HOME="$work" JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
version=$(sed -n 's/^#define ST_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\).*/\2/p' "$header" | paste -sd.)
repository="$work/repository"  # the user's ~/.m2/repository
mvn() { command mvn -B -q -s "$settings" -Dmaven.repo.local="$repository" "$@"; }

mvn install:install-file -Dfile="$jar" -DpomFile="$pom" -Djavadoc="$javadoc"
installed="$repository/org/sparsetrain/sparsetrain/$version"
for f in "sparsetrain-$version.jar" "sparsetrain-$version.pom" "sparsetrain-$version-javadoc.jar"; do
  [[ -f "$installed/$f" ]] || { echo "not installed: $installed/$f" >&2; exit 1; }
done

mkdir -p "$work/app/src/main/java/com/example"
cd "$work/app"
cat > pom.xml <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId>
  <artifactId>app</artifactId>
  <version>1.0</version>
  <properties>
    <maven.compiler.release>17</maven.compiler.release>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
    <dependency>
      <groupId>org.sparsetrain</groupId>
      <artifactId>sparsetrain</artifactId>
      <version>$version</version>
    </dependency>
  </dependencies>
</project>
POM
cat > src/main/java/com/example/App.java <<'JAVA'
package com.example;

import org.sparsetrain.Context;
import org.sparsetrain.Model;
import org.sparsetrain.SparseTrain;

/** One training step of a tiny model through the Maven dependency. */
public class App {
  public static void main(String[] args) {
    try (Context ctx = new Context(1);
         Model m = Model.builder(ctx, 1, 8, 8).conv2d(4, 3).relu().flatten().linear(null, 2).build(1)) {
      Model.StepResult r = m.trainStep(new float[2 * 64], new int[] {0, 1});
      System.out.println(SparseTrain.version() + " " + r.examples);
    }
  }
}
JAVA
mvn package
out=$("$JAVA_HOME/bin/java" -cp "target/app-1.0.jar:$installed/sparsetrain-$version.jar" com.example.App)
[[ "$out" == "$version 2" ]] || { echo "the Maven app printed '$out', expected '$version 2'" >&2; exit 1; }
echo "mvn install:install-file, mvn package and run: $out"
