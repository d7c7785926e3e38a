package org.sparsetrain;


/** A float tensor of shape (n, c, h, w) in native memory, in the layout the kernels want. */
public final class Tensor implements AutoCloseable {
  /** Storage layouts; BLOCKED is what convolutions take (channels in blocks of 16). */
  public enum Layout { NCHW, BLOCKED }

  private final NativeHandle<SWIGTYPE_p_st_tensor> handle;

  /**
   * A zero tensor, or one filled from `nchw` (n*c*h*w values in NCHW order) when it is not null.
   */
  public Tensor(Context context, long n, long c, long h, long w, Layout layout, float[] nchw) {
    SWIGTYPE_p_st_tensor t =
        sparsetrain_native.stb_tensor_create(Native.nonNull(context, "context").handle(), n, c, h,
            w, Native.nonNull(layout, "layout").ordinal(), nchw);
    Native.check();
    handle = new NativeHandle<>(this, t, sparsetrain_native::stb_tensor_destroy, "Tensor");
  }

  public long[] dims() {
    long[] dims = new long[4];
    for (int i = 0; i < 4; ++i) {
      dims[i] = sparsetrain_native.stb_tensor_dim(handle(), i);
      Native.check();
    }
    return dims;
  }

  public void copyFrom(float[] nchw) {
    Native.nonNull(nchw, "nchw");
    Native.check(sparsetrain_native.stb_tensor_copy_in(handle(), nchw));
  }

  /** The values in NCHW order. */
  public float[] toArray() {
    long[] d = dims();
    float[] values = new float[Math.toIntExact(d[0] * d[1] * d[2] * d[3])];
    Native.check(sparsetrain_native.stb_tensor_copy_out(handle(), values));
    return values;
  }

  SWIGTYPE_p_st_tensor handle() {
    return handle.get();
  }

  @Override
  public void close() {
    handle.close();
  }
}
