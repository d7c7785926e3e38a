package org.sparsetrain;


/** The threads work runs on (the library starts no others). Objects keep it alive until closed. */
public final class Context implements AutoCloseable {
  private final NativeHandle<SWIGTYPE_p_st_context> handle;

  static {
    Native.load();
  }

  /**
   * A context on {@code threads} threads, the caller's included; 0 means every CPU the process may
   * use, and larger counts are capped to those (extra threads only wait on each other).
   */
  public Context(int threads) {
    SWIGTYPE_p_st_context h = sparsetrain_native.stb_context_create(threads);
    Native.check();
    handle = new NativeHandle<>(this, h, sparsetrain_native::stb_context_destroy, "Context");
  }

  public int threads() {
    int threads = sparsetrain_native.stb_context_threads(handle());
    Native.check();
    return threads;
  }

  SWIGTYPE_p_st_context handle() {
    return handle.get();
  }

  @Override
  public void close() {
    handle.close();
  }
}
