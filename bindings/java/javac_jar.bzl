"""The jars of the Java binding, made by the system JDK (Bazel's java rules need network toolchains)."""

JDK = "/usr/lib/jvm/java-17-openjdk-amd64"

def javac_jar(name, srcs, out, jars = [], system_jars = [], lint = True, add_to_classes = "", data = []):
    """A jar of what javac makes of srcs.

    Args:
      name: the genrule's name.
      srcs: the .java files.
      out: the jar's file name.
      jars: jar targets on the class path.
      system_jars: absolute paths of installed jars on the class path.
      lint: compile with -Xlint:all -Werror.
      add_to_classes: shell commands run before packing, with the classes' directory in $$d
        (a string or a select of strings).
      data: other files add_to_classes reads.
    """
    class_path = ":".join(["$(location %s)" % j for j in jars] + system_jars)
    native.genrule(
        name = name,
        srcs = srcs + jars + data,
        outs = [out],
        cmd = ("d=$$(mktemp -d) && " + JDK + "/bin/javac " + ("-Xlint:all -Werror " if lint else "") +
               "-d $$d " + ("-cp " + class_path + " " if class_path else "") +
               " ".join(["$(location %s)" % f for f in srcs]) + " && ") +
              add_to_classes +
              (" " + JDK + "/bin/jar cf $@ -C $$d . && rm -rf $$d"),
    )
