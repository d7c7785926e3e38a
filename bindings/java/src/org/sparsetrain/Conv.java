package org.sparsetrain;


/** A convolution layer on its own: forward, backward by input, backward by weights. */
public final class Conv implements AutoCloseable {
  /** The three passes. */
  public enum Pass { FORWARD, BACKWARD_DATA, BACKWARD_WEIGHTS }

  /** What the last call of a pass did. */
  public static final class Call {
    public final boolean ran;
    public final SparseTrain.Kernel kernel;
    public final double zeros;
    public final double milliseconds;

    Call(double[] v) {
      ran = v[0] != 0;
      kernel = SparseTrain.Kernel.values()[(int) v[1]];
      zeros = v[2];
      milliseconds = v[3];
    }
  }

  private final NativeHandle<SWIGTYPE_p_st_conv> handle;
  private final long weightCount;
  private final long outChannels;
  private final boolean bias;

  /** Input (batch, inChannels, height, width); square kernel, equal strides and padding. */
  public Conv(Context context, long batch, long inChannels, long height, long width,
      long outChannels, long kernel, long stride, long pad, boolean bias) {
    SWIGTYPE_p_st_conv c =
        sparsetrain_native.stb_conv_create(Native.nonNull(context, "context").handle(), batch,
            inChannels, height, width, outChannels, kernel, stride, pad, bias ? 1 : 0);
    Native.check();
    handle = new NativeHandle<>(this, c, sparsetrain_native::stb_conv_destroy, "Conv");
    this.weightCount = outChannels * inChannels * kernel * kernel;
    this.outChannels = outChannels;
    this.bias = bias;
  }

  public long[] outputDims() {
    long[] dims = new long[4];
    for (int i = 0; i < 4; ++i) {
      dims[i] = sparsetrain_native.stb_conv_output_dim(handle(), i);
      Native.check();
    }
    return dims;
  }

  /** Weights (out, in, kh, kw) in that order; bias may be null. */
  public void setWeights(float[] weights, float[] bias) {
    Native.check(sparsetrain_native.stb_conv_set_weights(handle(), weights, bias));
  }

  public float[] weights() {
    return get(false);
  }

  /**
   * Weight gradients of the last backwardWeights call (the bias gradient follows via
   * biasGradient).
   */
  public float[] weightGradients() {
    return get(true);
  }

  private float[] get(boolean gradients) {
    float[] w = new float[Math.toIntExact(weightCount)];
    Native.check(sparsetrain_native.stb_conv_get(handle(), gradients ? 1 : 0, w, null));
    return w;
  }

  public float[] biasGradient() {
    float[] w = new float[Math.toIntExact(weightCount)];
    float[] b = new float[Math.toIntExact(outChannels)];
    Native.check(sparsetrain_native.stb_conv_get(handle(), 1, w, bias ? b : null));
    return b;
  }

  public void setKernel(SparseTrain.Kernel kernel) {
    Native.check(sparsetrain_native.stb_conv_set_kernel(
        handle(), Native.nonNull(kernel, "kernel").ordinal()));
  }

  public void forward(Tensor x, Tensor y) {
    Native.check(sparsetrain_native.stb_conv_forward(
        handle(), Native.nonNull(x, "x").handle(), Native.nonNull(y, "y").handle()));
  }

  public void backwardData(Tensor dy, Tensor dx) {
    Native.check(sparsetrain_native.stb_conv_backward_data(
        handle(), Native.nonNull(dy, "dy").handle(), Native.nonNull(dx, "dx").handle()));
  }

  public void backwardWeights(Tensor x, Tensor dy) {
    Native.check(sparsetrain_native.stb_conv_backward_weights(
        handle(), Native.nonNull(x, "x").handle(), Native.nonNull(dy, "dy").handle()));
  }

  public Call lastCall(Pass pass) {
    double[] v = new double[4];
    Native.check(
        sparsetrain_native.stb_conv_last_call(handle(), Native.nonNull(pass, "pass").ordinal(), v));
    return new Call(v);
  }

  SWIGTYPE_p_st_conv handle() {
    return handle.get();
  }

  @Override
  public void close() {
    handle.close();
  }
}
