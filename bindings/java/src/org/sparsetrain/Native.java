package org.sparsetrain;

import org.sparsetrain.internal.sparsetrain_native;

/** Loads the JNI library once and turns native statuses into exceptions. */
final class Native {
  /** System property naming the JNI library file; otherwise java.library.path is searched. */
  static final String LIBRARY_PROPERTY = "sparsetrain.library";

  static {
    String path = System.getProperty(LIBRARY_PROPERTY);
    try {
      if (path != null) {
        System.load(path);
      } else {
        System.loadLibrary("sparsetrain_jni");
      }
    } catch (UnsatisfiedLinkError e) {
      UnsatisfiedLinkError error = new UnsatisfiedLinkError(
          "SparseTrain: cannot load the native library ("
          + (path != null ? path
                          : "libsparsetrain_jni.so on java.library.path="
                      + System.getProperty("java.library.path"))
          + "). Build it with `bazel build -c opt //bindings/java:libsparsetrain_jni.so` and pass "
          + "-D" + LIBRARY_PROPERTY + "=/path/to/libsparsetrain_jni.so or -Djava.library.path=DIR. "
          + "Cause: " + e.getMessage());
      error.initCause(e);
      throw error;
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

  /** Throws INVALID_ARGUMENT naming `method` and `name` if `array` is null. */
  static void requireArray(Object array, String method, String name) {
    if (array == null)
      throw new SparseTrainException(Status.INVALID_ARGUMENT, method + ": " + name + " is null");
  }
}
