#!/usr/bin/env bash
# The NuGet package as a Mono user takes it, from a directory outside the tree: its layout and
# version, an app built against lib/net45/SparseTrain.dll run as the README shows, and a clear
# DllNotFoundException when the native library is not found.
# Usage: package_test.sh NUPKG VERSION_TXT
set -euo pipefail
nupkg=$(realpath "$1") version_file=$(realpath "$2")
work=${TEST_TMPDIR:-$(mktemp -d)}
export HOME="$work"
version=$(cat "$version_file")
mkdir -p "$work/package" "$work/app"
cd "$work/package"
unzip -q "$nupkg"
for f in SparseTrain.nuspec lib/net45/SparseTrain.dll lib/net45/SparseTrain.xml \
  runtimes/linux-x64/native/libsparsetrain_csharp.so; do
  [[ -f "$f" ]] || { echo "the package lacks $f" >&2; exit 1; }
done
grep -q "<version>$version</version>" SparseTrain.nuspec || { echo "nuspec version is not $version" >&2; exit 1; }
grep -q 'member name="T:SparseTrain.Model"' lib/net45/SparseTrain.xml ||
  { echo "SparseTrain.xml does not document SparseTrain.Model" >&2; exit 1; }

cd "$work/app"
cat > App.cs <<'CS'
using System;
using SparseTrain;

// One training step of a tiny model, and the assembly's version.
public static class App {
  public static void Main() {
    using (var ctx = new Context(1))
    using (var m = new Model.Builder(ctx, 1, 8, 8).Conv2d(4, 3).Relu().Flatten().Linear(2).Build(1)) {
      var r = m.TrainStep(new float[2 * 64], new int[] {0, 1});
      Console.WriteLine(Library.Version + " " + r.Examples + " " + typeof(Model).Assembly.GetName().Version);
    }
  }
}
CS
# As the README: reference the package's assembly, copy it beside the program, point
# LD_LIBRARY_PATH at the native directory.
package="$work/package"
mcs -nologo -r:"$package/lib/net45/SparseTrain.dll" -out:App.exe App.cs
cp "$package/lib/net45/SparseTrain.dll" .
out=$(LD_LIBRARY_PATH="$package/runtimes/linux-x64/native" mono App.exe)
want="$version 2 $version.0"
[[ "$out" == "$want" ]] || { echo "the app printed '$out', expected '$want'" >&2; exit 1; }
echo "mcs and mono with the package: $out"

if out=$(env -u LD_LIBRARY_PATH mono App.exe 2>&1); then
  echo "the app ran without its native library" >&2
  exit 1
fi
first=$(grep -m1 '^System\.' <<<"$out")
if [[ "$first" != *"System.DllNotFoundException: SparseTrain: cannot load the native library"* ]]; then
  echo "without the native library: '$first'" >&2
  exit 1
fi
echo "without the native library: ${first:0:120}..."
