package org.sparsetrain;

import java.lang.ref.Cleaner;
import java.util.function.ToIntFunction;

/**
 * A native handle owned by one Java object: released by close(), or - as a safety net - by a
 * Cleaner once the object is unreachable. The cleanup action holds only the handle, never the
 * owning object.
 */
final class NativeHandle<H> {
  private static final Cleaner CLEANER = Cleaner.create();

  private static final class Release<H> implements Runnable {
    private H handle;
    private final ToIntFunction<H> destroy;
    private int status;

    Release(H handle, ToIntFunction<H> destroy) {
      this.handle = handle;
      this.destroy = destroy;
    }

    @Override
    public synchronized void run() {
      if (handle != null) {
        status = destroy.applyAsInt(handle);
        handle = null;
      }
    }
  }

  private final Release<H> release;
  private final Cleaner.Cleanable cleanable;
  private final String what;

  NativeHandle(Object owner, H handle, ToIntFunction<H> destroy, String what) {
    this.release = new Release<>(handle, destroy);
    this.cleanable = CLEANER.register(owner, release);
    this.what = what;
  }

  H get() {
    synchronized (release) {
      if (release.handle == null)
        throw new IllegalStateException(what + " is closed");
      return release.handle;
    }
  }

  boolean isOpen() {
    synchronized (release) {
      return release.handle != null;
    }
  }

  /** Hands the handle over to another owner: this one will not release it. */
  void disown() {
    synchronized (release) {
      release.handle = null;
    }
    cleanable.clean();
  }

  /** Releases the handle now (once; later calls do nothing). */
  void close() {
    boolean open = isOpen();
    cleanable.clean();
    if (open)
      Native.check(release.status);
  }
}
