// SparseTrain for C#: train and fine-tune CNNs on the CPU through the native library.
// Objects own native handles: dispose them (using blocks); a finalizer releases forgotten ones.
// A call the library refuses throws SparseTrainException with its status and message.
using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using N = SparseTrain.Native.sparsetrain_native;

namespace SparseTrain {

  /// <summary>The status codes of the C API.</summary>
  public enum Status {
    Ok,
    InvalidArgument,
    ShapeMismatch,
    Unsupported,
    OutOfMemory,
    IoError,
    CorruptData,
    BadHandle,
    Internal
  }

  /// <summary>Instruction sets the kernels run on.</summary>
  public enum Isa { Auto, Avx512, Avx2, Sse4, Scalar, Neon, Sve, Sve2 }

  /// <summary>Convolution kernels: chosen per layer and call, or one kind throughout.</summary>
  public enum Kernel { Auto, Dense, Sparse }
  /// <summary>Training losses, as PyTorch's: cross-entropy of class labels; mean squared error,
  /// L1 and binary cross-entropy of logits, of float targets.</summary>
  public enum Loss { SoftmaxCrossEntropy, Mse, L1, BceWithLogits }

  /// <summary>Tensor storage: plain NCHW, or channel-blocked as convolutions take it.</summary>
  public enum Layout { Nchw, Blocked }

  /// <summary>A call the native library refused.</summary>
  public class SparseTrainException : Exception {
    public Status Status { get; }
    internal SparseTrainException(Status status, string message) : base(status + ": " + message) {
      Status = status;
    }
  }

  /// <summary>The checks behind every call: each message starts with the member of the binding
  /// the user called, which [CallerMemberName] fills in where a check is written (a helper takes
  /// it from its own caller the same way).</summary>
  internal static class Check {
    internal static void Ok(int code, [CallerMemberName] string method = "") {
      if (code != 0) {
        var status = code > 0 && code <= (int)Status.Internal ? (Status)code : Status.Internal;
        throw new SparseTrainException(status, method + ": " + N.stb_message());
      }
    }
    internal static void Last([CallerMemberName] string method = "") {
      Ok(N.stb_status(), method);
    }
    /// <summary>Throws ArgumentNullException naming the method and the argument if value is
    /// null.</summary>
    internal static void NotNull(object value, string name, [CallerMemberName] string method = "") {
      if (value == null) {
        throw new ArgumentNullException(name, method + ": " + name + " is null");
      }
    }
    /// <summary>The handle of o, an argument of method; ArgumentNullException if o is null,
    /// ObjectDisposedException if it is disposed.</summary>
    internal static THandle HandleOf<THandle>(NativeObject<THandle> o, string name,
                                              [CallerMemberName] string method = "")
        where THandle : class {
      NotNull(o, name, method);
      return o.Handle;
    }
    /// <summary>value, from a native call that reports failure through the last status.</summary>
    internal static T Value<T>(T value, [CallerMemberName] string method = "") {
      Last(method);
      return value;
    }
  }

  /// <summary>Library-wide settings.</summary>
  public static class Library {
    /// <summary>The native library's version, "1.4.0".</summary>
    public static string Version => Loaded(() => N.stb_version_string());
    /// <summary>Whether this CPU can run <paramref name="isa"/> and this build select it.</summary>
    public static bool IsaSupported(Isa isa) => Loaded(() => N.stb_isa_supported((int)isa) != 0);
    /// <summary>The ISA kernels run on now; setting it caps every kernel (process-wide).</summary>
    public static Isa Isa {
      get => Loaded(() => (Isa)N.stb_get_isa());
      set => Check.Ok(Loaded(() => N.stb_set_isa((int)value)));
    }
    /// <summary>Whether each layer pass prints a line to stderr.</summary>
    public static bool Verbose {
      set => Loaded(() => {
        N.stb_set_verbose(value ? 1 : 0);
        return true;
      });
    }

    /// <summary>f's value; a native library that cannot be loaded is one DllNotFoundException
    /// saying where it is looked for, not the runtime's nested TypeInitializationExceptions.</summary>
    internal static T Loaded<T>(Func<T> f) {
      try {
        return f();
      } catch (TypeInitializationException e) when (Innermost(e) is DllNotFoundException) {
        throw new DllNotFoundException(
            "SparseTrain: cannot load the native library libsparsetrain_csharp.so: put it on " +
                "LD_LIBRARY_PATH or beside the program (the NuGet package carries it in " +
                "runtimes/linux-x64/native/). " + Innermost(e).Message,
            e);
      }
    }
    private static Exception Innermost(Exception e) {
      while (e.InnerException != null)
        e = e.InnerException;
      return e;
    }
  }

  /// <summary>Base of the objects that own a native handle.</summary>
  public abstract class NativeObject<THandle> : IDisposable
      where THandle : class {
    private THandle handle;
    private readonly string what;
    protected NativeObject(THandle handle, string what) {
      this.handle = handle;
      this.what = what;
    }
    internal THandle Handle => handle ?? throw new ObjectDisposedException(what);
    protected abstract int Destroy(THandle handle);
    public void Dispose() {
      Dispose(true);
      GC.SuppressFinalize(this);
    }
    ~NativeObject() {
      Dispose(false);
    }
    private void Dispose(bool disposing) {
      if (handle == null)
        return;
      int status = Destroy(handle);
      handle = null;
      if (disposing)
        Check.Ok(status);
    }
  }

  /// <summary>The threads work runs on; the library starts no others.</summary>
  public sealed class Context : NativeObject<Native.SWIGTYPE_p_st_context> {
    /// <summary>A context on <paramref name="threads"/> threads, the caller's included; 0 means
    /// every CPU the process may use, and larger counts are capped to those.</summary>
    public Context(int threads) : base(Create(threads), "Context") {}
    private static Native.SWIGTYPE_p_st_context Create(int threads) =>
        Check.Value(Library.Loaded(() => N.stb_context_create(threads)), "Context");
    public int Threads => Check.Value(N.stb_context_threads(Handle));
    protected override int Destroy(Native.SWIGTYPE_p_st_context h) => N.stb_context_destroy(h);
  }

  /// <summary>A float tensor of shape (n, c, h, w) in native memory.</summary>
  public sealed class Tensor : NativeObject<Native.SWIGTYPE_p_st_tensor> {
    public Tensor(Context context, long n, long c, long h, long w, Layout layout,
                  float[] nchw = null)
        : base(Create(context, n, c, h, w, layout, nchw), "Tensor") {}
    private static Native.SWIGTYPE_p_st_tensor Create(Context context, long n, long c, long h,
                                                      long w, Layout layout, float[] nchw) =>
        Check.Value(N.stb_tensor_create(Check.HandleOf(context, "context", "Tensor"), n, c, h, w,
                                        (int)layout, nchw, nchw?.Length ?? 0),
                    "Tensor");
    public long[] Dims {
      get {
        var dims = new long[4];
        for (int i = 0; i < 4; ++i) dims[i] = Check.Value(N.stb_tensor_dim(Handle, i));
        return dims;
      }
    }
    public void CopyFrom(float[] nchw) {
      Check.NotNull(nchw, "nchw");
      Check.Ok(N.stb_tensor_copy_in(Handle, nchw, nchw.Length));
    }
    /// <summary>The values in NCHW order.</summary>
    public float[] ToArray() {
      var d = Dims;
      var values = new float[checked(d[0] * d[1] * d[2] * d[3])];
      Check.Ok(N.stb_tensor_copy_out(Handle, values, values.Length));
      return values;
    }
    protected override int Destroy(Native.SWIGTYPE_p_st_tensor h) => N.stb_tensor_destroy(h);
  }

  /// <summary>A convolution layer on its own (square kernel, equal strides and padding).</summary>
  public sealed class Conv : NativeObject<Native.SWIGTYPE_p_st_conv> {
    public enum Pass { Forward, BackwardData, BackwardWeights }
    public struct Call {
      public bool Ran;
      public Kernel Kernel;
      public double Zeros;
      public double Milliseconds;
    }
    private readonly long weightCount;

    public Conv(Context context, long batch, long inChannels, long height, long width,
                long outChannels, long kernel, long stride, long pad, bool bias)
        : base(Create(context, batch, inChannels, height, width, outChannels, kernel, stride, pad,
                      bias),
               "Conv") {
      weightCount = outChannels * inChannels * kernel * kernel;
    }
    private static Native.SWIGTYPE_p_st_conv Create(Context context, long batch, long inChannels,
                                                    long height, long width, long outChannels,
                                                    long kernel, long stride, long pad,
                                                    bool bias) =>
        Check.Value(N.stb_conv_create(Check.HandleOf(context, "context", "Conv"), batch,
                                      inChannels, height, width, outChannels, kernel, stride, pad,
                                      bias ? 1 : 0),
                    "Conv");
    /// <summary>Weights (out, in, kh, kw); bias may be null.</summary>
    public void SetWeights(float[] weights, float[] bias) {
      Check.NotNull(weights, "weights");
      Check.Ok(N.stb_conv_set_weights(Handle, weights, weights.Length, bias, bias?.Length ?? 0));
    }
    public float[] Weights => Get(false);
    public float[] WeightGradients => Get(true);
    private float[] Get(bool gradients) {
      var w = new float[weightCount];
      Check.Ok(N.stb_conv_get(Handle, gradients ? 1 : 0, w, w.Length, null, 0));
      return w;
    }
    public Kernel Kernel { set => Check.Ok(N.stb_conv_set_kernel(Handle, (int)value)); }
    public void Forward(Tensor x, Tensor y) =>
        Check.Ok(N.stb_conv_forward(Handle, Check.HandleOf(x, "x"),
                                    Check.HandleOf(y, "y")));
    public void BackwardData(Tensor dy, Tensor dx) =>
        Check.Ok(N.stb_conv_backward_data(Handle, Check.HandleOf(dy, "dy"),
                                          Check.HandleOf(dx, "dx")));
    public void BackwardWeights(Tensor x, Tensor dy) =>
        Check.Ok(N.stb_conv_backward_weights(Handle, Check.HandleOf(x, "x"),
                                             Check.HandleOf(dy, "dy")));
    public Call LastCall(Pass pass) {
      var v = new double[4];
      Check.Ok(N.stb_conv_last_call(Handle, (int)pass, v, v.Length));
      return new Call { Ran = v[0] != 0, Kernel = (Kernel)(int)v[1], Zeros = v[2],
                        Milliseconds = v[3] };
    }
    protected override int Destroy(Native.SWIGTYPE_p_st_conv h) => N.stb_conv_destroy(h);
  }

  /// <summary>Optimiser settings.</summary>
  public sealed class Optimizer {
    internal int Kind;
    internal double LearningRate, Momentum = 0.9, WeightDecay, ClipNorm;
    internal bool Nesterov;
    internal int Schedule;
    internal long WarmupSteps, TotalSteps;
    private Optimizer(int kind, double lr) {
      Kind = kind;
      LearningRate = lr;
    }
    public static Optimizer Sgd(double lr,
                                double momentum) => new Optimizer(0, lr) { Momentum = momentum };
    public static Optimizer Adam(double lr) => new Optimizer(1, lr);
    public static Optimizer AdamW(double lr, double weightDecay) => new Optimizer(2, lr) {
      WeightDecay = weightDecay
    };
    public Optimizer WithClipNorm(double norm) {
      ClipNorm = norm;
      return this;
    }
    public Optimizer WithCosine(long warmupSteps, long totalSteps) {
      Schedule = 2;
      WarmupSteps = warmupSteps;
      TotalSteps = totalSteps;
      return this;
    }
  }

  /// <summary>A network to train, evaluate and run; build one with Model.Builder.</summary>
  public sealed class Model : NativeObject<Native.SWIGTYPE_p_st_model> {
    public struct StepResult {
      public double Loss;
      public long Correct;
      public long Examples;
      public double GradNorm;
    }
    public sealed class LayerInfo {
      public string Name, Kind;
      public bool Frozen, IsConv;
      public double InputZeros, GradZeros;
      public bool[] Ran = new bool[3];
      public Kernel[] Kernels = new Kernel[3];
      public double[] Milliseconds = new double[3];
    }

    /// <summary>Adds layers in order; null names get automatic ones (conv1, relu1, fc1,
    /// ...).</summary>
    public sealed class Builder {
      private Native.SWIGTYPE_p_st_model handle;
      public Builder(Context context, long channels, long height, long width) {
        handle = Check.Value(N.stb_model_create(Check.HandleOf(context, "context", "Builder"),
                                                channels, height, width),
                             "Builder");
      }
      internal Builder(Native.SWIGTYPE_p_st_model imported) {
        handle = imported;
      }
      // A builder dropped before Build releases its unfinished model.
      ~Builder() {
        if (handle != null)
          N.stb_model_destroy(handle);
      }
      private Native.SWIGTYPE_p_st_model H =>
          handle ?? throw new ObjectDisposedException("Model.Builder");
      private Builder Add(int status, [CallerMemberName] string method = "") {
        Check.Ok(status, method);
        return this;
      }
      public Builder Conv2d(long outChannels, long kernel, long stride = 1, long pad = -1,
                            bool bias = true, string name = null) =>
          Add(N.stb_model_add_conv2d(H, name, outChannels, kernel, stride, pad, bias? 1: 0));
      /// <summary>A convolution of `groups` groups, dividing both channel counts.</summary>
      public Builder GroupedConv2d(long outChannels, long kernel, long groups, long stride = 1,
                                   long pad = -1, bool bias = true, string name = null) =>
          Add(N.stb_model_add_grouped_conv2d(H, name, outChannels, kernel, stride, pad, bias? 1: 0,
                                             groups));
      /// <summary>Each channel convolved with its own filter (groups = channels).</summary>
      public Builder DepthwiseConv2d(long kernel, long stride = 1, long pad = -1, bool bias = true,
                                     string name = null) =>
          Add(N.stb_model_add_depthwise_conv2d(H, name, kernel, stride, pad, bias? 1: 0));
      public Builder BatchNorm(string name = null) => Add(N.stb_model_add_batchnorm(H, name));
      public Builder Relu(string name = null) => Add(N.stb_model_add_relu(H, name));
      public Builder MaxPool(long window, long stride, long pad = 0,
                             string name = null) => Add(N.stb_model_add_maxpool(H, name, window,
                                                                                stride, pad));
      /// <summary>Max pooling in ceil mode.</summary>
      public Builder MaxPoolCeil(long window, long stride, long pad = 0, string name = null) =>
          Add(N.stb_model_add_maxpool_ceil(H, name, window, stride, pad));
      /// <summary>Average pooling as PyTorch's AvgPool2d.</summary>
      public Builder AvgPool(long window, long stride, long pad = 0, bool countIncludePad = true,
                             bool ceilMode = false, string name = null) =>
          Add(N.stb_model_add_avgpool(H, name, window, stride, pad, countIncludePad? 1: 0,
                                      ceilMode? 1: 0));
      /// <summary>Adaptive average pooling to size x size, 4-D.</summary>
      public Builder AdaptiveAvgPool(long size, string name = null) =>
          Add(N.stb_model_add_adaptive_avgpool(H, name, size));
      public Builder GlobalAvgPool(string name = null) => Add(N.stb_model_add_global_avgpool(H,
                                                                                             name));
      public Builder Flatten(string name = null) => Add(N.stb_model_add_flatten(H, name));
      public Builder Dropout(float probability,
                             string name = null) => Add(N.stb_model_add_dropout(H, name,
                                                                                probability));
      public Builder Linear(long outFeatures,
                            string name = null) => Add(N.stb_model_add_linear(H, name, outFeatures,
                                                                              1));
      public Builder Relu6(string name = null) => Add(N.stb_model_add_relu6(H, name));
      /// <summary>min(max(x, min), max); gradient 1 strictly between the bounds.</summary>
      public Builder Clip(float min, float max, string name = null) =>
          Add(N.stb_model_add_clip(H, name, min, max));
      public Builder Sigmoid(string name = null) => Add(N.stb_model_add_sigmoid(H, name));
      /// <summary>clip(alpha x + beta, 0, 1); PyTorch's is alpha 1/6, beta 1/2.</summary>
      public Builder HardSigmoid(float alpha = 1.0f / 6.0f, float beta = 0.5f,
                                 string name = null) =>
          Add(N.stb_model_add_hardsigmoid(H, name, alpha, beta));
      public Builder HardSwish(string name = null) => Add(N.stb_model_add_hardswish(H, name));
      public Builder Silu(string name = null) => Add(N.stb_model_add_silu(H, name));
      /// <summary>Makes the tensor named so (a layer's name, or "input") the one the next layer
      /// reads.</summary>
      public Builder From(string tensor) => Add(N.stb_model_from(H, tensor));
      /// <summary>The sum of two named tensors of one shape (null: the current
      /// tensor).</summary>
      public Builder Add(string a, string b, string name = null) =>
          Add(N.stb_model_add_add(H, name, a, b));
      /// <summary>The named tensors' channels one after another (null: the current
      /// tensor).</summary>
      public Builder Concat(string[] inputs, string name = null) {
        Check.NotNull(inputs, "inputs");
        return Add(N.stb_model_add_concat(H, name, string.Join("\n", inputs)));
      }
      /// <summary>a * b, b of a's shape or one factor per channel (null: the current
      /// tensor).</summary>
      public Builder Multiply(string a, string b, string name = null) =>
          Add(N.stb_model_add_multiply(H, name, a, b));
      public Builder ResidualBegin(string name = null) => Add(N.stb_model_residual_begin(H, name));
      public Builder ResidualShortcut() => Add(N.stb_model_residual_shortcut(H));
      public Builder ResidualEnd() => Add(N.stb_model_residual_end(H));
      /// <summary>The model, with parameters initialised from the seed; the builder is used
      /// up.</summary>
      public Model Build(long seed) {
        Check.Ok(N.stb_model_finish(H, seed));
        var model = new Model(handle);
        handle = null;
        GC.SuppressFinalize(this);
        return model;
      }
    }

    /// <summary>A parameter or buffer, under its name (PyTorch's state_dict key for an imported
    /// model).</summary>
    public sealed class ParameterInfo {
      public string Name;
      public long[] Shape;
      public long Count;
      /// <summary>Batch-norm running statistics: saved and loaded, never trained.</summary>
      public bool IsBuffer;
      /// <summary>Its layer is frozen.</summary>
      public bool Frozen;
    }

    /// <summary>Imports an ONNX model (docs/onnx.md) as a builder holding its layers with their
    /// trained values, cut at the tensor cutAt (null: the whole graph). Layers added to it are
    /// the only ones Build initialises.</summary>
    public static Builder ImportOnnx(Context context, string path, string cutAt = null) {
      Check.NotNull(path, "path");
      return new Builder(Check.Value(N.stb_model_import_onnx(Check.HandleOf(context, "context"), path, cutAt)));
    }
    /// <summary>The same from the bytes of an ONNX file.</summary>
    public static Builder ImportOnnx(Context context, byte[] onnx, string cutAt = null) {
      Check.NotNull(onnx, "onnx");
      return new Builder(
          Check.Value(N.stb_model_import_onnx_buffer(Check.HandleOf(context, "context"), onnx, onnx.Length, cutAt)));
    }
    /// <summary>The same from a stream, read to its end (not closed).</summary>
    public static Builder ImportOnnx(Context context, Stream onnx, string cutAt = null) {
      Check.NotNull(onnx, "onnx");
      return ImportOnnx(context, ReadAll(onnx), cutAt);
    }
    private static byte[] ReadAll(Stream stream) {
      using (var memory = new MemoryStream()) {
        stream.CopyTo(memory);
        return memory.ToArray();
      }
    }
    // A size from the native side as an array length: .NET arrays stop near 2^31.
    private static int ArrayLength(long size, [CallerMemberName] string method = "") {
      Check.Last(method);
      if (size > int.MaxValue - 64)
        throw new SparseTrainException(Status.Unsupported,
                                       $"{method}: {size} elements do not fit in one array");
      return (int)size;
    }

    public long Classes { get; }
    private readonly long imageSize;  // floats per input image
    private Model(Native.SWIGTYPE_p_st_model handle) : base(handle, "Model") {
      Classes = Check.Value(N.stb_model_classes(handle), "Build");
      imageSize = Check.Value(N.stb_model_image_size(handle), "Build");
    }
    protected override int Destroy(Native.SWIGTYPE_p_st_model h) => N.stb_model_destroy(h);

    public void SetOptimizer(Optimizer o) {
      Check.NotNull(o, "o");
      Check.Ok(N.stb_model_set_optimizer(Handle, o.Kind, o.LearningRate, o.Momentum,
                                         o.Nesterov ? 1 : 0, o.WeightDecay, o.ClipNorm, o.Schedule,
                                         o.WarmupSteps, o.TotalSteps));
    }
    public Kernel Kernel { set => Check.Ok(N.stb_model_set_kernel(Handle, (int)value)); }
    /// <summary>The training loss; labelSmoothing (in [0, 1]) and classWeights (one per class,
    /// or null) apply to cross-entropy only.</summary>
    public void SetLoss(Loss loss, double labelSmoothing = 0, float[] classWeights = null) {
      var weights = classWeights ?? new float[0];
      Check.Ok(N.stb_model_set_loss(Handle, (int)loss, labelSmoothing, weights, weights.Length));
    }
    public bool CheckInputs { set => Check.Ok(N.stb_model_set_check_inputs(Handle, value? 1: 0)); }
    public void Freeze(string layer) => Check.Ok(N.stb_model_set_frozen(Handle, layer, 1));
    public void Unfreeze(string layer) => Check.Ok(N.stb_model_set_frozen(Handle, layer, 0));

    private static StepResult Result(double[] v) => new StepResult {
      Loss = v[0], Correct = (long)v[1], Examples = (long)v[2], GradNorm = v[3]
    };
    // The floats of `batch` examples of perExample each; 0 for a batch that is not positive,
    // which the native call then refuses by name.
    private static long Floats(int batch, long perExample) => Math.Max(batch, 0) * perExample;

    /// <summary>One step on a batch of labels.Length images (NCHW floats).</summary>
    public StepResult TrainStep(float[] images, int[] labels) {
      Check.NotNull(images, "images");
      Check.NotNull(labels, "labels");
      return TrainStep(images, 0, images.Length, labels, 0, labels.Length);
    }
    /// <summary>One step on the <paramref name="batch"/> images from
    /// images[<paramref name="imageOffset"/>] and their labels from
    /// labels[<paramref name="labelOffset"/>]: a batch out of a larger dataset, not
    /// copied.</summary>
    public StepResult TrainStep(float[] images, int imageOffset, int[] labels, int labelOffset,
                                int batch) {
      Check.NotNull(images, "images");
      Check.NotNull(labels, "labels");
      return TrainStep(images, imageOffset, Floats(batch, imageSize), labels, labelOffset, batch);
    }
    private StepResult TrainStep(float[] images, int imageOffset, long imageCount, int[] labels,
                                 int labelOffset, int batch, [CallerMemberName] string method = "") {
      var v = new double[4];
      Check.Ok(N.stb_model_train_step(Handle, images, images.Length, imageOffset, imageCount,
                                      labels, labels.Length, labelOffset, batch, v, v.Length),
               method);
      return Result(v);
    }
    /// <summary>Loss and accuracy in evaluation mode.</summary>
    public StepResult EvalStep(float[] images, int[] labels) {
      Check.NotNull(images, "images");
      Check.NotNull(labels, "labels");
      return EvalStep(images, 0, images.Length, labels, 0, labels.Length, null, 0);
    }
    /// <summary>Loss and accuracy in evaluation mode of a batch taken as TrainStep takes it from
    /// larger arrays; the batch x Classes logits go to <paramref name="logits"/> from
    /// <paramref name="logitOffset"/> unless it is null.</summary>
    public StepResult EvalStep(float[] images, int imageOffset, int[] labels, int labelOffset,
                               int batch, float[] logits = null, int logitOffset = 0) {
      Check.NotNull(images, "images");
      Check.NotNull(labels, "labels");
      return EvalStep(images, imageOffset, Floats(batch, imageSize), labels, labelOffset, batch,
                      logits, logitOffset);
    }
    private StepResult EvalStep(float[] images, int imageOffset, long imageCount, int[] labels,
                                int labelOffset, int batch, float[] logits, int logitOffset,
                                [CallerMemberName] string method = "") {
      var v = new double[4];
      Check.Ok(N.stb_model_eval_step(Handle, images, images.Length, imageOffset, imageCount, labels,
                                     labels.Length, labelOffset, batch, v, v.Length, logits,
                                     logits?.Length ?? 0, logitOffset,
                                     logits == null ? 0 : Floats(batch, Classes)),
               method);
      return Result(v);
    }
    /// <summary>One step on float targets (batch x outputs), for the losses that take
    /// them.</summary>
    public StepResult TrainStepTargets(float[] images, float[] targets) {
      Check.NotNull(images, "images");
      Check.NotNull(targets, "targets");
      return TrainStepTargets(images, 0, images.Length, targets, 0, targets.Length,
                              (int)(targets.Length / Classes));
    }
    /// <summary>One step on float targets of a batch taken from larger arrays at the offsets
    /// given.</summary>
    public StepResult TrainStepTargets(float[] images, int imageOffset, float[] targets,
                                       int targetOffset, int batch) {
      Check.NotNull(images, "images");
      Check.NotNull(targets, "targets");
      return TrainStepTargets(images, imageOffset, Floats(batch, imageSize), targets, targetOffset,
                              Floats(batch, Classes), batch);
    }
    private StepResult TrainStepTargets(float[] images, int imageOffset, long imageCount,
                                        float[] targets, int targetOffset, long targetCount,
                                        int batch, [CallerMemberName] string method = "") {
      var v = new double[4];
      Check.Ok(N.stb_model_train_step_targets(Handle, images, images.Length, imageOffset,
                                              imageCount, targets, targets.Length, targetOffset,
                                              targetCount, batch, v, v.Length),
               method);
      return Result(v);
    }
    /// <summary>The loss of float targets in evaluation mode.</summary>
    public StepResult EvalStepTargets(float[] images, float[] targets) {
      Check.NotNull(images, "images");
      Check.NotNull(targets, "targets");
      return EvalStepTargets(images, 0, images.Length, targets, 0, targets.Length,
                             (int)(targets.Length / Classes), null, 0);
    }
    /// <summary>The loss of float targets in evaluation mode of a batch taken from larger arrays;
    /// the batch x outputs outputs go to <paramref name="outputs"/> from
    /// <paramref name="outputOffset"/> unless it is null.</summary>
    public StepResult EvalStepTargets(float[] images, int imageOffset, float[] targets,
                                      int targetOffset, int batch, float[] outputs = null,
                                      int outputOffset = 0) {
      Check.NotNull(images, "images");
      Check.NotNull(targets, "targets");
      return EvalStepTargets(images, imageOffset, Floats(batch, imageSize), targets, targetOffset,
                             Floats(batch, Classes), batch, outputs, outputOffset);
    }
    private StepResult EvalStepTargets(float[] images, int imageOffset, long imageCount,
                                       float[] targets, int targetOffset, long targetCount,
                                       int batch, float[] outputs, int outputOffset,
                                       [CallerMemberName] string method = "") {
      var v = new double[4];
      Check.Ok(N.stb_model_eval_step_targets(Handle, images, images.Length, imageOffset,
                                             imageCount, targets, targets.Length, targetOffset,
                                             targetCount, batch, v, v.Length, outputs,
                                             outputs?.Length ?? 0, outputOffset,
                                             outputs == null ? 0 : Floats(batch, Classes)),
               method);
      return Result(v);
    }
    /// <summary>Logits (batch x classes).</summary>
    public float[] Predict(float[] images, int batch) {
      Check.NotNull(images, "images");
      if (batch <= 0 || batch * Classes > int.MaxValue) {
        throw new SparseTrainException(
            Status.InvalidArgument,
            $"Predict: batch must be positive and batch x {Classes} logits fit in one array, got {batch}");
      }
      var logits = new float[batch * Classes];
      Predict(images, 0, images.Length, batch, logits, 0);
      return logits;
    }
    /// <summary>The logits (batch x classes) of the <paramref name="batch"/> images from
    /// images[<paramref name="imageOffset"/>], written to <paramref name="logits"/> from
    /// <paramref name="logitOffset"/>.</summary>
    public void Predict(float[] images, int imageOffset, int batch, float[] logits,
                        int logitOffset) {
      Check.NotNull(images, "images");
      Check.NotNull(logits, "logits");
      Predict(images, imageOffset, Floats(batch, imageSize), batch, logits, logitOffset);
    }
    private void Predict(float[] images, int imageOffset, long imageCount, int batch,
                         float[] logits, int logitOffset, [CallerMemberName] string method = "") {
      Check.Ok(N.stb_model_predict(Handle, images, images.Length, imageOffset, imageCount, batch,
                                   logits, logits.Length, logitOffset, Floats(batch, Classes)),
               method);
    }
    public long Steps => Check.Value(N.stb_model_steps(Handle));
    public void Save(string path) => Check.Ok(N.stb_model_save(Handle, path));
    public void Load(string path) => Check.Ok(N.stb_model_load(Handle, path));
    /// <summary>The checkpoint Save would write, in memory.</summary>
    public byte[] SaveToBytes() {
      var bytes = new byte[ArrayLength(N.stb_model_checkpoint_size(Handle))];
      Check.Ok(N.stb_model_save_into(Handle, bytes, bytes.Length));
      return bytes;
    }
    /// <summary>Loads a checkpoint from memory, with the checks Load(path) makes.</summary>
    public void Load(byte[] checkpoint) {
      Check.NotNull(checkpoint, "checkpoint");
      Check.Ok(N.stb_model_load_buffer(Handle, checkpoint, checkpoint.Length));
    }
    /// <summary>Loads a checkpoint from a stream, read to its end (not closed).</summary>
    public void Load(Stream checkpoint) {
      Check.NotNull(checkpoint, "checkpoint");
      Load(ReadAll(checkpoint));
    }
    /// <summary>Writes the model to an ONNX file in inference form (docs/onnx.md),
    /// atomically.</summary>
    public void ExportOnnx(string path) {
      Check.NotNull(path, "path");
      Check.Ok(N.stb_model_export_onnx(Handle, path));
    }
    /// <summary>The ONNX file's bytes.</summary>
    public byte[] ExportOnnx() {
      var bytes = new byte[ArrayLength(N.stb_model_export_onnx_size(Handle))];
      Check.Ok(N.stb_model_export_onnx_into(Handle, bytes, bytes.Length));
      return bytes;
    }
    /// <summary>Every parameter and buffer, in the order they are saved and copied in.</summary>
    public List<ParameterInfo> Parameters {
      get {
        long count = Check.Value(N.stb_model_parameter_count(Handle));
        var parameters = new List<ParameterInfo>();
        for (long i = 0; i < count; ++i) {
          var info = new ParameterInfo { Name = Check.Value(N.stb_model_parameter_name(Handle, i)) };
          var v = new double[8];
          Check.Ok(N.stb_model_parameter_numbers(Handle, i, v, v.Length));
          info.Shape = new long[(int)v[0]];
          for (int d = 0; d < info.Shape.Length; ++d) info.Shape[d] = (long)v[1 + d];
          info.Count = (long)v[5];
          info.IsBuffer = v[6] != 0;
          info.Frozen = v[7] != 0;
          parameters.Add(info);
        }
        return parameters;
      }
    }
    /// <summary>One parameter's values, in PyTorch's element order.</summary>
    public float[] GetParameter(string name) {
      Check.NotNull(name, "name");
      foreach (var p in Parameters) {
        if (p.Name != name) continue;
        var values = new float[ArrayLength(p.Count)];
        Check.Ok(N.stb_model_get_parameter(Handle, name, values, values.Length));
        return values;
      }
      throw new SparseTrainException(Status.InvalidArgument,
                                     $"GetParameter: no parameter named '{name}'");
    }
    /// <summary>Sets one parameter (as many values as it has; NaN and Inf refused, nothing
    /// changed).</summary>
    public void SetParameter(string name, float[] values) {
      Check.NotNull(name, "name");
      Check.NotNull(values, "values");
      Check.Ok(N.stb_model_set_parameter(Handle, name, values, values.Length));
    }
    /// <summary>All parameters and buffers as one array, in Parameters order.</summary>
    public float[] GetParametersFlat() {
      var values = new float[ArrayLength(N.stb_model_parameters_size(Handle))];
      Check.Ok(N.stb_model_get_parameters(Handle, values, values.Length));
      return values;
    }
    public void SetParametersFlat(float[] values) {
      Check.NotNull(values, "values");
      Check.Ok(N.stb_model_set_parameters(Handle, values, values.Length));
    }
    public List<LayerInfo> Layers {
      get {
        long count = Check.Value(N.stb_model_layer_count(Handle));
        var layers = new List<LayerInfo>();
        for (long i = 0; i < count; ++i) {
          var info = new LayerInfo { Name = Check.Value(N.stb_model_layer_name(Handle, i)),
                                     Kind = Check.Value(N.stb_model_layer_kind(Handle, i)) };
          var v = new double[13];
          Check.Ok(N.stb_model_layer_numbers(Handle, i, v, v.Length));
          info.Frozen = v[0] != 0;
          info.IsConv = v[1] != 0;
          info.InputZeros = v[2];
          info.GradZeros = v[3];
          for (int p = 0; p < 3; ++p) {
            info.Ran[p] = v[4 + 3 * p] != 0;
            info.Kernels[p] = (Kernel)(int)v[5 + 3 * p];
            info.Milliseconds[p] = v[6 + 3 * p];
          }
          layers.Add(info);
        }
        return layers;
      }
    }
  }

}  // namespace SparseTrain
