#!/usr/bin/env bash
# Installs sparsetrain.jar with its POM and javadoc jar into a local Maven repository, then
# builds a Maven project outside the tree that depends on it and runs it, as the README shows
# (offline: Debian's Maven with bindings/java/maven/debian-settings.xml).
# Usage: maven_test.sh SPARSETRAIN_JAR POM JAVADOC_JAR SETTINGS VERSION_TXT APP_JAVA
set -euo pipefail
jar=$(realpath "$1") pom=$(realpath "$2") javadoc=$(realpath "$3") settings=$(realpath "$4")
version_file=$(realpath "$5") app=$(realpath "$6")
work=${TEST_TMPDIR:-$(mktemp -d)}
export HOME="$work" JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
version=$(cat "$version_file")
repository="$work/repository"  # the user's ~/.m2/repository
mvn() { command mvn -B -q -s "$settings" -Dmaven.repo.local="$repository" "$@"; }

mvn install:install-file -Dfile="$jar" -DpomFile="$pom" -Djavadoc="$javadoc"
installed="$repository/org/sparsetrain/sparsetrain/$version"
for f in "sparsetrain-$version.jar" "sparsetrain-$version.pom" "sparsetrain-$version-javadoc.jar"; do
  [[ -f "$installed/$f" ]] || { echo "not installed: $installed/$f" >&2; exit 1; }
done

mkdir -p "$work/app/src/main/java"
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
cp "$app" src/main/java/App.java
mvn package
out=$("$JAVA_HOME/bin/java" -cp "target/app-1.0.jar:$installed/sparsetrain-$version.jar" App)
[[ "$out" == "$version 2" ]] || { echo "the Maven app printed '$out', expected '$version 2'" >&2; exit 1; }
echo "mvn install:install-file, mvn package and run: $out"
