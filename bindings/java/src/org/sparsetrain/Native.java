package org.sparsetrain;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.CodeSource;
import java.util.Locale;

/** Loads the JNI library once and turns native statuses into exceptions. */
final class Native {
  /** System property naming the JNI library file; it overrides the library the jar carries. */
  static final String LIBRARY_PROPERTY = "sparsetrain.library";

  static {
    String path = System.getProperty(LIBRARY_PROPERTY);
    String resource = "/org/sparsetrain/native/" + platform() + "/libsparsetrain_jni.so";
    boolean inJar = path == null && Native.class.getResource(resource) != null;
    String source = path != null ? path
        : inJar                  ? "the jar's " + resource
                                 : "libsparsetrain_jni.so on java.library.path="
            + System.getProperty("java.library.path") + " (the jar carries no " + resource + ")";
    try {
      if (path != null) {
        System.load(path);
      } else if (inJar) {
        loadFromJar(resource);
      } else {
        System.loadLibrary("sparsetrain_jni");
      }
    } catch (UnsatisfiedLinkError | IOException e) {
      UnsatisfiedLinkError error = new UnsatisfiedLinkError("SparseTrain: cannot load the native "
          + "library from " + source + "; -D" + LIBRARY_PROPERTY
          + "=/path/to/libsparsetrain_jni.so names another. Cause: " + e.getMessage());
      error.initCause(e);
      throw error;
    }
  }

  /** The jar's name for this platform: linux-x86_64, linux-aarch64. */
  private static String platform() {
    String os = System.getProperty("os.name").toLowerCase(Locale.ROOT).replaceAll("\\s", "");
    String arch = System.getProperty("os.arch");
    if (arch.equals("amd64"))
      arch = "x86_64";
    if (arch.equals("arm64"))
      arch = "aarch64";
    return os + "-" + arch;
  }

  /** Copies the jar's library to a temporary file, loads it and removes the file. */
  private static void loadFromJar(String resource) throws IOException {
    Path file = Files.createTempFile("libsparsetrain_jni", ".so");
    try (InputStream in = Native.class.getResourceAsStream(resource)) {
      Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
      System.load(file.toString());
    } finally {
      Files.delete(file); // the loaded library stays mapped
    }
  }

  private Native() {}

  static void load() {} // runs the static initialiser

  /** Throws unless the last native call on this thread succeeded. */
  static void check() {
    int code = sparsetrain_native.stb_status();
    if (code != 0)
      throw new SparseTrainException(Status.of(code), sparsetrain_native.stb_message());
  }

  static void check(int code) {
    if (code != 0)
      throw new SparseTrainException(Status.of(code), sparsetrain_native.stb_message());
  }

  /** `value`, or a NullPointerException naming the method called and the argument `name`. */
  static <T> T nonNull(T value, String name) {
    if (value == null)
      throw new NullPointerException(called() + ": " + name + " is null");
    return value;
  }

  private static final StackWalker STACK =
      StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE);

  /**
   * The constructor or method of the binding the user called ("Model.trainStep", "Tensor"): the
   * outermost frame of this library's classes before the stack leaves them.
   */
  static String called() {
    CodeSource ours = Native.class.getProtectionDomain().getCodeSource();
    return STACK.walk(frames
        -> frames
               .takeWhile(f
                   -> java.util.Objects.equals(
                       f.getDeclaringClass().getProtectionDomain().getCodeSource(), ours))
               .reduce((inner, outer) -> outer)
               .map(f -> {
                 String type = f.getDeclaringClass()
                                   .getName()
                                   .substring(Native.class.getPackageName().length() + 1)
                                   .replace('$', '.');
                 return f.getMethodName().equals("<init>") ? type : type + "." + f.getMethodName();
               })
               .orElse("sparsetrain"));
  }
}
