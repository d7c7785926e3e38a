package org.sparsetrain;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** A network to train, evaluate and run; build one with {@link #builder}. */
public final class Model implements AutoCloseable {
  /** The figures of one training or evaluation step. */
  public static final class StepResult {
    public final double loss;
    public final long correct;
    public final long examples;
    public final double gradNorm;

    StepResult(double[] v) {
      loss = v[0];
      correct = (long) v[1];
      examples = (long) v[2];
      gradNorm = v[3];
    }
  }

  /** Per-layer telemetry of the last step. */
  public static final class LayerInfo {
    public final String name;
    public final String kind;
    public final boolean frozen;
    public final boolean isConv;
    public final double inputZeros;
    public final double gradZeros;
    public final boolean[] ran = new boolean[3];
    public final SparseTrain.Kernel[] kernel = new SparseTrain.Kernel[3];
    public final double[] milliseconds = new double[3];

    LayerInfo(String name, String kind, double[] v) {
      this.name = name;
      this.kind = kind;
      frozen = v[0] != 0;
      isConv = v[1] != 0;
      inputZeros = v[2];
      gradZeros = v[3];
      for (int p = 0; p < 3; ++p) {
        ran[p] = v[4 + 3 * p] != 0;
        kernel[p] = SparseTrain.Kernel.values()[(int) v[5 + 3 * p]];
        milliseconds[p] = v[6 + 3 * p];
      }
    }
  }

  /** A parameter or buffer, under its name (PyTorch's state_dict key for an imported model). */
  public static final class ParameterInfo {
    public final String name;
    public final long[] shape;
    public final long count;
    /** Batch-norm running statistics: saved and loaded, never trained. */
    public final boolean isBuffer;
    /** Its layer is frozen. */
    public final boolean frozen;

    ParameterInfo(String name, double[] v) {
      this.name = name;
      shape = new long[(int) v[0]];
      for (int i = 0; i < shape.length; ++i) shape[i] = (long) v[1 + i];
      count = (long) v[5];
      isBuffer = v[6] != 0;
      frozen = v[7] != 0;
    }
  }

  /** Adds layers in order; names may be null for automatic ones (conv1, relu1, fc1, ...). */
  public static final class Builder {
    private SWIGTYPE_p_st_model handle;
    // Releases the unfinished model if the builder is dropped before build().
    private final NativeHandle<SWIGTYPE_p_st_model> unfinished;

    private Builder(SWIGTYPE_p_st_model handle) {
      this.handle = handle;
      this.unfinished =
          new NativeHandle<>(this, handle, sparsetrain_native::stb_model_destroy, "Model.Builder");
    }

    private Builder add(int status) {
      Native.check(status);
      return this;
    }

    private SWIGTYPE_p_st_model h() {
      if (handle == null)
        throw new IllegalStateException("Model.Builder is used up");
      return handle;
    }

    public Builder conv2d(
        String name, long outChannels, long kernel, long stride, long pad, boolean bias) {
      return add(sparsetrain_native.stb_model_add_conv2d(
          h(), name, outChannels, kernel, stride, pad, bias ? 1 : 0));
    }

    /** Stride 1, padding kernel / 2, with bias. */
    public Builder conv2d(long outChannels, long kernel) {
      return conv2d(null, outChannels, kernel, 1, -1, true);
    }

    /** A convolution of `groups` groups (dividing both channel counts); pad -1: kernel / 2. */
    public Builder groupedConv2d(String name, long outChannels, long kernel, long stride, long pad,
        boolean bias, long groups) {
      return add(sparsetrain_native.stb_model_add_grouped_conv2d(
          h(), name, outChannels, kernel, stride, pad, bias ? 1 : 0, groups));
    }

    /** Each channel convolved with its own filter (groups = channels); pad -1: kernel / 2. */
    public Builder depthwiseConv2d(String name, long kernel, long stride, long pad, boolean bias) {
      return add(sparsetrain_native.stb_model_add_depthwise_conv2d(
          h(), name, kernel, stride, pad, bias ? 1 : 0));
    }

    public Builder batchNorm(String name) {
      return add(sparsetrain_native.stb_model_add_batchnorm(h(), name));
    }

    public Builder relu() {
      return add(sparsetrain_native.stb_model_add_relu(h(), null));
    }

    public Builder maxPool(long window, long stride, long pad) {
      return add(sparsetrain_native.stb_model_add_maxpool(h(), null, window, stride, pad));
    }

    /** Max pooling in ceil mode (a last, partial window where floor mode leaves input unread). */
    public Builder maxPoolCeil(long window, long stride, long pad) {
      return add(sparsetrain_native.stb_model_add_maxpool_ceil(h(), null, window, stride, pad));
    }

    /** Average pooling as PyTorch's AvgPool2d. */
    public Builder avgPool(String name, long window, long stride, long pad, boolean countIncludePad,
        boolean ceilMode) {
      return add(sparsetrain_native.stb_model_add_avgpool(
          h(), name, window, stride, pad, countIncludePad ? 1 : 0, ceilMode ? 1 : 0));
    }

    /** Adaptive average pooling to size x size, 4-D. */
    public Builder adaptiveAvgPool(String name, long size) {
      return add(sparsetrain_native.stb_model_add_adaptive_avgpool(h(), name, size));
    }

    public Builder globalAvgPool() {
      return add(sparsetrain_native.stb_model_add_global_avgpool(h(), null));
    }

    public Builder flatten() {
      return add(sparsetrain_native.stb_model_add_flatten(h(), null));
    }

    public Builder dropout(float probability) {
      return add(sparsetrain_native.stb_model_add_dropout(h(), null, probability));
    }

    public Builder linear(String name, long outFeatures) {
      return add(sparsetrain_native.stb_model_add_linear(h(), name, outFeatures, 1));
    }

    public Builder relu6(String name) {
      return add(sparsetrain_native.stb_model_add_relu6(h(), name));
    }

    /** min(max(x, min), max); gradient 1 strictly between the bounds. */
    public Builder clip(String name, float min, float max) {
      return add(sparsetrain_native.stb_model_add_clip(h(), name, min, max));
    }

    public Builder sigmoid(String name) {
      return add(sparsetrain_native.stb_model_add_sigmoid(h(), name));
    }

    /** clip(alpha x + beta, 0, 1); PyTorch's hard sigmoid is alpha 1/6, beta 1/2. */
    public Builder hardSigmoid(String name, float alpha, float beta) {
      return add(sparsetrain_native.stb_model_add_hardsigmoid(h(), name, alpha, beta));
    }

    public Builder hardSwish(String name) {
      return add(sparsetrain_native.stb_model_add_hardswish(h(), name));
    }

    public Builder silu(String name) {
      return add(sparsetrain_native.stb_model_add_silu(h(), name));
    }

    /**
     * Makes the tensor named `tensor` (a layer's name, or "input") the one the next layer reads.
     */
    public Builder from(String tensor) {
      return add(sparsetrain_native.stb_model_from(h(), tensor));
    }

    /** The sum of two named tensors of one shape (null: the current tensor). */
    public Builder add(String name, String a, String b) {
      return add(sparsetrain_native.stb_model_add_add(h(), name, a, b));
    }

    /** The named tensors' channels one after another (null: the current tensor). */
    public Builder concat(String name, String... inputs) {
      StringBuilder joined = new StringBuilder();
      Native.nonNull(inputs, "inputs");
      for (int i = 0; i < inputs.length; ++i) {
        if (i > 0)
          joined.append('\n');
        if (inputs[i] != null)
          joined.append(inputs[i]);
      }
      return add(sparsetrain_native.stb_model_add_concat(h(), name, joined.toString()));
    }

    /** a * b, b of a's shape or one factor per channel (null: the current tensor). */
    public Builder multiply(String name, String a, String b) {
      return add(sparsetrain_native.stb_model_add_multiply(h(), name, a, b));
    }

    public Builder residualBegin(String name) {
      return add(sparsetrain_native.stb_model_residual_begin(h(), name));
    }

    public Builder residualShortcut() {
      return add(sparsetrain_native.stb_model_residual_shortcut(h()));
    }

    public Builder residualEnd() {
      return add(sparsetrain_native.stb_model_residual_end(h()));
    }

    /** The model, with parameters initialised from `seed`; the builder is used up. */
    public Model build(long seed) {
      Native.check(sparsetrain_native.stb_model_finish(h(), seed));
      unfinished.disown();
      Model model = new Model(handle);
      handle = null;
      return model;
    }
  }

  private final NativeHandle<SWIGTYPE_p_st_model> handle;
  private final long classes;
  private final long imageSize; // floats per input image

  private Model(SWIGTYPE_p_st_model handle) {
    this.classes = sparsetrain_native.stb_model_classes(handle);
    Native.check();
    this.imageSize = sparsetrain_native.stb_model_image_size(handle);
    Native.check();
    this.handle = new NativeHandle<>(this, handle, sparsetrain_native::stb_model_destroy, "Model");
  }

  /** A builder for inputs of (channels, height, width). */
  public static Builder builder(Context context, long channels, long height, long width) {
    SWIGTYPE_p_st_model handle = sparsetrain_native.stb_model_create(
        Native.nonNull(context, "context").handle(), channels, height, width);
    Native.check();
    return new Builder(handle);
  }

  /**
   * Imports an ONNX model (docs/onnx.md) as a builder holding its layers with their trained
   * values, cut at the tensor {@code cutAt} (null: the whole graph). Layers added to it are the
   * only ones {@link Builder#build} initialises.
   */
  public static Builder importOnnx(Context context, String path, String cutAt) {
    Native.nonNull(path, "path");
    SWIGTYPE_p_st_model handle = sparsetrain_native.stb_model_import_onnx(
        Native.nonNull(context, "context").handle(), path, cutAt);
    Native.check();
    return new Builder(handle);
  }

  /** The same from the bytes of an ONNX file. */
  public static Builder importOnnx(Context context, byte[] onnx, String cutAt) {
    Native.nonNull(onnx, "onnx");
    SWIGTYPE_p_st_model handle = sparsetrain_native.stb_model_import_onnx_buffer(
        Native.nonNull(context, "context").handle(), onnx, cutAt);
    Native.check();
    return new Builder(handle);
  }

  /** The same from a buffer's remaining bytes (the buffer's position is left as it was). */
  public static Builder importOnnx(Context context, ByteBuffer onnx, String cutAt) {
    Native.nonNull(onnx, "onnx");
    byte[] bytes = new byte[onnx.remaining()];
    onnx.duplicate().get(bytes);
    return importOnnx(context, bytes, cutAt);
  }

  /** The same from a stream, read to its end (not closed). */
  public static Builder importOnnx(Context context, InputStream onnx, String cutAt)
      throws IOException {
    Native.nonNull(onnx, "onnx");
    return importOnnx(context, onnx.readAllBytes(), cutAt);
  }

  public long classes() {
    return classes;
  }

  public void setOptimizer(Optimizer o) {
    Native.nonNull(o, "o");
    Native.check(sparsetrain_native.stb_model_set_optimizer(handle(), o.kind.ordinal(),
        o.learningRate, o.momentum, o.nesterov ? 1 : 0, o.weightDecay, o.clipNorm,
        o.schedule.ordinal(), o.warmupSteps, o.totalSteps));
  }

  /**
   * The training loss; labelSmoothing (in [0, 1]) and classWeights (one per class, or null) apply
   * to cross-entropy only.
   */
  public void setLoss(SparseTrain.Loss loss, double labelSmoothing, float[] classWeights) {
    Native.check(sparsetrain_native.stb_model_set_loss(
        handle(), Native.nonNull(loss, "loss").ordinal(), labelSmoothing, classWeights));
  }

  public void setKernel(SparseTrain.Kernel kernel) {
    Native.check(sparsetrain_native.stb_model_set_kernel(
        handle(), Native.nonNull(kernel, "kernel").ordinal()));
  }

  /** Refuse images holding NaN or Inf. */
  public void setCheckInputs(boolean check) {
    Native.check(sparsetrain_native.stb_model_set_check_inputs(handle(), check ? 1 : 0));
  }

  public void freeze(String layer) {
    Native.check(sparsetrain_native.stb_model_set_frozen(handle(), layer, 1));
  }

  public void unfreeze(String layer) {
    Native.check(sparsetrain_native.stb_model_set_frozen(handle(), layer, 0));
  }

  /** One step on a batch of labels.length images (NCHW floats). */
  public StepResult trainStep(float[] images, int[] labels) {
    Native.nonNull(images, "images");
    Native.nonNull(labels, "labels");
    return trainStep(images, 0, labels, 0, labels.length, images.length);
  }

  /**
   * One step on the {@code batch} images from {@code images[imageOffset]} (NCHW floats) and
   * their labels from {@code labels[labelOffset]}: a batch out of a larger dataset, not copied.
   */
  public StepResult trainStep(
      float[] images, int imageOffset, int[] labels, int labelOffset, int batch) {
    Native.nonNull(images, "images");
    Native.nonNull(labels, "labels");
    return trainStep(images, imageOffset, labels, labelOffset, batch, floats(batch, imageSize));
  }

  private StepResult trainStep(
      float[] images, int imageOffset, int[] labels, int labelOffset, int batch, long imageCount) {
    double[] v = new double[4];
    Native.check(sparsetrain_native.stb_model_train_step(
        handle(), images, imageOffset, imageCount, labels, labelOffset, batch, v));
    return new StepResult(v);
  }

  /** Loss and accuracy in evaluation mode. */
  public StepResult evalStep(float[] images, int[] labels) {
    Native.nonNull(images, "images");
    Native.nonNull(labels, "labels");
    return evalStep(images, 0, labels, 0, labels.length, images.length, null, 0);
  }

  /**
   * Loss and accuracy in evaluation mode of a batch taken as {@link #trainStep(float[], int,
   * int[], int, int)} takes it; the batch x classes logits go to {@code logits} from {@code
   * logitOffset} unless {@code logits} is null.
   */
  public StepResult evalStep(float[] images, int imageOffset, int[] labels, int labelOffset,
      int batch, float[] logits, int logitOffset) {
    Native.nonNull(images, "images");
    Native.nonNull(labels, "labels");
    return evalStep(images, imageOffset, labels, labelOffset, batch, floats(batch, imageSize),
        logits, logitOffset);
  }

  private StepResult evalStep(float[] images, int imageOffset, int[] labels, int labelOffset,
      int batch, long imageCount, float[] logits, int logitOffset) {
    double[] v = new double[4];
    Native.check(sparsetrain_native.stb_model_eval_step(handle(), images, imageOffset, imageCount,
        labels, labelOffset, batch, v, logits, logitOffset,
        logits == null ? 0 : floats(batch, classes)));
    return new StepResult(v);
  }

  /** One step on float targets (batch x outputs), for the losses that take them. */
  public StepResult trainStepTargets(float[] images, float[] targets) {
    Native.nonNull(images, "images");
    Native.nonNull(targets, "targets");
    return trainStepTargets(
        images, 0, targets, 0, (int) (targets.length / classes), images.length, targets.length);
  }

  /** One step on float targets of a batch taken from larger arrays at the offsets given. */
  public StepResult trainStepTargets(
      float[] images, int imageOffset, float[] targets, int targetOffset, int batch) {
    Native.nonNull(images, "images");
    Native.nonNull(targets, "targets");
    return trainStepTargets(images, imageOffset, targets, targetOffset, batch,
        floats(batch, imageSize), floats(batch, classes));
  }

  private StepResult trainStepTargets(float[] images, int imageOffset, float[] targets,
      int targetOffset, int batch, long imageCount, long targetCount) {
    double[] v = new double[4];
    Native.check(sparsetrain_native.stb_model_train_step_targets(handle(), images, imageOffset,
        imageCount, targets, targetOffset, targetCount, batch, v));
    return new StepResult(v);
  }

  /** The loss of float targets in evaluation mode. */
  public StepResult evalStepTargets(float[] images, float[] targets) {
    Native.nonNull(images, "images");
    Native.nonNull(targets, "targets");
    return evalStepTargets(images, 0, targets, 0, (int) (targets.length / classes), images.length,
        targets.length, null, 0);
  }

  /**
   * The loss of float targets in evaluation mode of a batch taken from larger arrays; the batch x
   * outputs outputs go to {@code outputs} from {@code outputOffset} unless it is null.
   */
  public StepResult evalStepTargets(float[] images, int imageOffset, float[] targets,
      int targetOffset, int batch, float[] outputs, int outputOffset) {
    Native.nonNull(images, "images");
    Native.nonNull(targets, "targets");
    return evalStepTargets(images, imageOffset, targets, targetOffset, batch,
        floats(batch, imageSize), floats(batch, classes), outputs, outputOffset);
  }

  private StepResult evalStepTargets(float[] images, int imageOffset, float[] targets,
      int targetOffset, int batch, long imageCount, long targetCount, float[] outputs,
      int outputOffset) {
    double[] v = new double[4];
    Native.check(sparsetrain_native.stb_model_eval_step_targets(handle(), images, imageOffset,
        imageCount, targets, targetOffset, targetCount, batch, v, outputs, outputOffset,
        outputs == null ? 0 : floats(batch, classes)));
    return new StepResult(v);
  }

  /** Logits (batch x classes) of `batch` images. */
  public float[] predict(float[] images, int batch) {
    Native.nonNull(images, "images");
    if (batch <= 0 || batch * classes > Integer.MAX_VALUE) {
      throw new SparseTrainException(Status.INVALID_ARGUMENT,
          "batch must be positive and batch x " + classes + " logits fit in one array, got "
              + batch);
    }
    float[] logits = new float[(int) (batch * classes)];
    predict(images, 0, images.length, batch, logits, 0);
    return logits;
  }

  /**
   * The logits (batch x classes) of the {@code batch} images from {@code images[imageOffset]},
   * written to {@code logits} from {@code logitOffset}.
   */
  public void predict(float[] images, int imageOffset, int batch, float[] logits, int logitOffset) {
    Native.nonNull(images, "images");
    Native.nonNull(logits, "logits");
    predict(images, imageOffset, floats(batch, imageSize), batch, logits, logitOffset);
  }

  private void predict(float[] images, int imageOffset, long imageCount, int batch, float[] logits,
      int logitOffset) {
    Native.check(sparsetrain_native.stb_model_predict(handle(), images, imageOffset, imageCount,
        batch, logits, logitOffset, floats(batch, classes)));
  }

  /**
   * The floats of {@code batch} examples of {@code perExample} each; 0 for a batch that is not
   * positive, which the native call then refuses by name.
   */
  private static long floats(int batch, long perExample) {
    return Math.max(batch, 0) * perExample;
  }

  public long steps() {
    long steps = sparsetrain_native.stb_model_steps(handle());
    Native.check();
    return steps;
  }

  public void save(String path) {
    Native.check(sparsetrain_native.stb_model_save(handle(), path));
  }

  public void load(String path) {
    Native.check(sparsetrain_native.stb_model_load(handle(), path));
  }

  /** The checkpoint {@link #save} would write, in memory. */
  public byte[] saveToBytes() {
    byte[] bytes = new byte[arrayLength(sparsetrain_native.stb_model_checkpoint_size(handle()))];
    Native.check(sparsetrain_native.stb_model_save_into(handle(), bytes));
    return bytes;
  }

  /** Loads a checkpoint from memory, with the checks {@link #load(String)} makes. */
  public void load(byte[] checkpoint) {
    Native.nonNull(checkpoint, "checkpoint");
    Native.check(sparsetrain_native.stb_model_load_buffer(handle(), checkpoint));
  }

  /** Loads a checkpoint from a stream, read to its end (not closed). */
  public void load(InputStream checkpoint) throws IOException {
    Native.nonNull(checkpoint, "checkpoint");
    load(checkpoint.readAllBytes());
  }

  /** Writes the model to an ONNX file in inference form (docs/onnx.md), atomically. */
  public void exportOnnx(String path) {
    Native.nonNull(path, "path");
    Native.check(sparsetrain_native.stb_model_export_onnx(handle(), path));
  }

  /** The ONNX file's bytes. */
  public byte[] exportOnnx() {
    byte[] bytes = new byte[arrayLength(sparsetrain_native.stb_model_export_onnx_size(handle()))];
    Native.check(sparsetrain_native.stb_model_export_onnx_into(handle(), bytes));
    return bytes;
  }

  /** Every parameter and buffer, in the order they are saved and copied in. */
  public List<ParameterInfo> parameters() {
    long count = sparsetrain_native.stb_model_parameter_count(handle());
    Native.check();
    List<ParameterInfo> parameters = new ArrayList<>();
    for (long i = 0; i < count; ++i) {
      String name = sparsetrain_native.stb_model_parameter_name(handle(), i);
      Native.check();
      double[] v = new double[8];
      Native.check(sparsetrain_native.stb_model_parameter_numbers(handle(), i, v));
      parameters.add(new ParameterInfo(name, v));
    }
    return parameters;
  }

  /** One parameter's values, in PyTorch's element order. */
  public float[] parameter(String name) {
    Native.nonNull(name, "name");
    for (ParameterInfo p : parameters()) {
      if (p.name.equals(name)) {
        float[] values = new float[arrayLength(p.count)];
        Native.check(sparsetrain_native.stb_model_get_parameter(handle(), name, values));
        return values;
      }
    }
    throw new SparseTrainException(Status.INVALID_ARGUMENT, "no parameter named '" + name + "'");
  }

  /** Sets one parameter (as many values as it has; NaN and Inf refused, nothing changed). */
  public void setParameter(String name, float[] values) {
    Native.nonNull(name, "name");
    Native.nonNull(values, "values");
    Native.check(sparsetrain_native.stb_model_set_parameter(handle(), name, values));
  }

  /** All parameters and buffers as one array, in {@link #parameters} order. */
  public float[] parametersFlat() {
    float[] values = new float[arrayLength(sparsetrain_native.stb_model_parameters_size(handle()))];
    Native.check(sparsetrain_native.stb_model_get_parameters(handle(), values));
    return values;
  }

  public void setParametersFlat(float[] values) {
    Native.nonNull(values, "values");
    Native.check(sparsetrain_native.stb_model_set_parameters(handle(), values));
  }

  // A size from the native side as an array length: Java arrays stop at 2^31 - 1.
  private static int arrayLength(long size) {
    Native.check();
    if (size > Integer.MAX_VALUE - 8) {
      throw new SparseTrainException(
          Status.UNSUPPORTED, size + " elements do not fit in one Java array");
    }
    return (int) size;
  }

  public List<LayerInfo> layers() {
    long count = sparsetrain_native.stb_model_layer_count(handle());
    Native.check();
    List<LayerInfo> layers = new ArrayList<>();
    for (long i = 0; i < count; ++i) {
      String name = sparsetrain_native.stb_model_layer_name(handle(), i);
      Native.check();
      String kind = sparsetrain_native.stb_model_layer_kind(handle(), i);
      Native.check();
      double[] v = new double[13];
      Native.check(sparsetrain_native.stb_model_layer_numbers(handle(), i, v));
      layers.add(new LayerInfo(name, kind, v));
    }
    return layers;
  }

  SWIGTYPE_p_st_model handle() {
    return handle.get();
  }

  @Override
  public void close() {
    handle.close();
  }
}
