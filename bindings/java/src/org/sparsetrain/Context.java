package org.sparsetrain;

import org.sparsetrain.internal.SWIGTYPE_p_st_context;
import org.sparsetrain.internal.sparsetrain_native;

/** The threads work runs on (the library starts no others). Objects keep it alive until closed. */
public final class Context implements AutoCloseable {
  private SWIGTYPE_p_st_context handle;

  static {
    Native.load();
  }

  public Context(int threads) {
    handle = sparsetrain_native.stb_context_create(threads);
    Native.check();
  }

  public int threads() {
    int threads = sparsetrain_native.stb_context_threads(handle());
    Native.check();
    return threads;
  }

  SWIGTYPE_p_st_context handle() {
    return Native.closedCheck(handle, "Context");
  }

  @Override
  public void close() {
    if (handle != null) {
      Native.check(sparsetrain_native.stb_context_destroy(handle));
      handle = null;
    }
  }
}
