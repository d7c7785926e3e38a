using System;
using System.IO;
using System.IO.Compression;
using NUnit.Framework;
using SparseTrain;

namespace SparseTrain.Tests {

  [TestFixture]
  public class SparseTrainTests {
    const string Data = "/usr/share/datasets/fashion-mnist";
    const int BatchSize = 64;

    static byte[] ReadIdx(string name, int header, int count) {
      using (var gz = new GZipStream(File.OpenRead(Path.Combine(Data, name)),
                                     CompressionMode.Decompress)) {
        var bytes = new byte[header + count];
        int done = 0, n;
        while (done < bytes.Length && (n = gz.Read(bytes, done, bytes.Length - done)) > 0)
          done += n;
        var result = new byte[count];
        Array.Copy(bytes, header, result, 0, count);
        return result;
      }
    }

    static float[] Images() {
      var pixels = ReadIdx("train-images-idx3-ubyte.gz", 16, BatchSize * 784);
      var images = new float[pixels.Length];
      for (int i = 0; i < pixels.Length; ++i) images[i] = pixels[i] / 255.0f;
      return images;
    }

    static int[] Labels() {
      var bytes = ReadIdx("train-labels-idx1-ubyte.gz", 8, BatchSize);
      var labels = new int[BatchSize];
      for (int i = 0; i < BatchSize; ++i) labels[i] = bytes[i];
      return labels;
    }

    // The reference's dense kernels and Adam at 1e-3.
    static Model WithReferenceProtocol(Model model) {
      model.Kernel = Kernel.Dense;
      model.SetOptimizer(Optimizer.Adam(1e-3));
      return model;
    }

    // The model of bindings/reference/reference_losses.c.
    static Model SmallCnn(Context context) {
      var model = new Model.Builder(context, 1, 28, 28)
                      .Conv2d(8, 3)
                      .Relu()
                      .MaxPool(2, 2)
                      .Flatten()
                      .Linear(10)
                      .Build(7);
      return WithReferenceProtocol(model);
    }

    // The second network of bindings/reference/reference_losses.c: a branch, an addition, the
    // other activations, a channel gate, a concatenation, the other poolings.
    static Model BranchingNet(Context context) {
      var model = new Model.Builder(context, 1, 28, 28)
                      .Conv2d(8, 3)
                      .Relu6()
                      .Conv2d(8, 3)
                      .HardSwish()
                      .From("relu6_1")
                      .DepthwiseConv2d(3)
                      .Conv2d(8, 1, 1, 0)
                      .Silu()
                      .Add("hardswish1", "silu1", "join")
                      .HardSigmoid()
                      .Clip(0.0f, 0.9f)
                      .Sigmoid()
                      .AdaptiveAvgPool(1, "gap")
                      .Multiply("sigmoid1", "gap", "gated")
                      .Concat(new[] {"gated", "relu6_1"}, "cat")
                      .GroupedConv2d(16, 3, 4)
                      .AvgPool(3, 2, 1, countIncludePad: false, ceilMode: true)
                      .MaxPoolCeil(2, 2)
                      .Flatten()
                      .Linear(10)
                      .Build(7);
      return WithReferenceProtocol(model);
    }

    [Test]
    public void BranchingNetEqualsTheCApi() {
      var reference =
          File.ReadAllLines(Environment.GetEnvironmentVariable("SPARSETRAIN_REFERENCE"));
      var images = Images();
      var labels = Labels();
      using (var context = new Context(2)) using (var model = BranchingNet(context)) {
        for (int step = 0; step < 5; ++step) {
          var r = model.TrainStep(images, labels);
          Assert.AreEqual(
              double.Parse(reference[5 + step], System.Globalization.CultureInfo.InvariantCulture),
              r.Loss, 0.0, "step " + step);
        }
      }
      using (var context = new Context(1)) {
        var e = Assert.Throws<SparseTrainException>(
            () => new Model.Builder(context, 1, 8, 8).Relu().From("nope"));
        Assert.AreEqual(Status.InvalidArgument, e.Status);
        StringAssert.Contains("'nope'", e.Message);
      }
    }

    [Test]
    public void OtherLossesEqualTheCApi() {
      var reference =
          File.ReadAllLines(Environment.GetEnvironmentVariable("SPARSETRAIN_REFERENCE"));
      var images = Images();
      var labels = Labels();
      var weights = new float[10];
      for (int i = 0; i < 10; ++i) weights[i] = 0.5f + 0.1f * i;
      var targets = new float[2 * BatchSize];
      int pixels = images.Length / BatchSize;
      for (int i = 0; i < BatchSize; ++i) {
        double sum = 0;
        for (int p = 0; p < pixels; ++p) sum += images[i * pixels + p];
        targets[2 * i] = (float)(sum / pixels);
        targets[2 * i + 1] = labels[i] / 9.0f;
      }
      for (int network = 0; network < 2; ++network) {
        using (var context = new Context(2))
        using (var model = new Model.Builder(context, 1, 28, 28)
                               .Conv2d(8, 3)
                               .Relu()
                               .MaxPool(2, 2)
                               .Flatten()
                               .Linear(network == 0 ? 10 : 2)
                               .Build(7)) {
          WithReferenceProtocol(model);
          if (network == 0) {
            model.SetLoss(Loss.SoftmaxCrossEntropy, 0.1, weights);
          } else {
            model.SetLoss(Loss.Mse);
            var e = Assert.Throws<SparseTrainException>(() => model.TrainStep(images, labels));
            StringAssert.Contains("takes float targets", e.Message);
          }
          for (int step = 0; step < 5; ++step) {
            var r = network == 0 ? model.TrainStep(images, labels)
                                 : model.TrainStepTargets(images, targets);
            Assert.AreEqual(double.Parse(reference[10 + 5 * network + step],
                                         System.Globalization.CultureInfo.InvariantCulture),
                            r.Loss, 0.0, "network " + network + " step " + step);
          }
        }
      }
    }

    [Test]
    public void VersionAndIsa() {
      Assert.AreEqual("1.4.0", Library.Version);
      Assert.AreNotEqual(Isa.Auto, Library.Isa);
      Assert.IsTrue(Library.IsaSupported(Isa.Auto));
      // every build lacks another architecture's ISAs: asking for one is refused, changing nothing
      var before = Library.Isa;
      foreach (Isa isa in Enum.GetValues(typeof(Isa))) {
        if (Library.IsaSupported(isa)) continue;
        var e = Assert.Throws<SparseTrainException>(() => Library.Isa = isa);
        Assert.AreEqual(Status.Unsupported, e.Status);
        Assert.AreEqual(before, Library.Isa);
      }
    }

    [Test]
    public void LossDecreasesAndEqualsTheCApi() {
      var reference =
          File.ReadAllLines(Environment.GetEnvironmentVariable("SPARSETRAIN_REFERENCE"));
      var images = Images();
      var labels = Labels();
      using (var context = new Context(2)) using (var model = SmallCnn(context)) {
        double first = 0, last = 0;
        for (int step = 0; step < 5; ++step) {
          var r = model.TrainStep(images, labels);
          Assert.AreEqual(
              double.Parse(reference[step], System.Globalization.CultureInfo.InvariantCulture),
              r.Loss, 0.0, "step " + step);
          if (step == 0)
            first = r.Loss;
          last = r.Loss;
        }
        Assert.Less(last, first);
        Assert.AreEqual(5, model.Steps);
        var layers = model.Layers;
        Assert.AreEqual("conv1", layers[0].Name);
        Assert.IsTrue(layers[0].IsConv && layers[0].Ran[0]);
        Assert.AreEqual(Kernel.Dense, layers[0].Kernels[0]);
      }
    }

    [Test]
    public void BadInputThrowsWithTheNativeMessage() {
      using (var context = new Context(1)) using (var model = SmallCnn(context)) {
        var e = Assert.Throws<SparseTrainException>(
            () => model.TrainStep(new float[10], new int[BatchSize]));
        Assert.AreEqual(Status.ShapeMismatch, e.Status);
        StringAssert.StartsWith("ShapeMismatch: TrainStep: st_model_train_step: ", e.Message);
        var labels = Labels();
        labels[3] = 10;
        e = Assert.Throws<SparseTrainException>(() => model.TrainStep(Images(), labels));
        Assert.AreEqual(Status.InvalidArgument, e.Status);
        StringAssert.Contains("label 10", e.Message);
        var n = Assert.Throws<ArgumentNullException>(() => model.TrainStep(null, Labels()));
        Assert.AreEqual("images", n.ParamName);
        StringAssert.Contains("TrainStep: images is null", n.Message);
        n = Assert.Throws<ArgumentNullException>(() => model.EvalStep(Images(), null));
        StringAssert.Contains("EvalStep: labels is null", n.Message);
        e = Assert.Throws<SparseTrainException>(() => model.Predict(Images(), -1));
        Assert.AreEqual(Status.InvalidArgument, e.Status);
        StringAssert.Contains("batch", e.Message);
        e = Assert.Throws<SparseTrainException>(() => model.Predict(Images(), int.MaxValue));
        Assert.AreEqual(Status.InvalidArgument, e.Status);
        e = Assert.Throws<SparseTrainException>(() => model.Load("/no/such/file.safetensors"));
        Assert.AreEqual(Status.IoError, e.Status);
        Assert.AreEqual(0, model.Steps);
        e = Assert.Throws<SparseTrainException>(
            () => new Model.Builder(context, 1, 8, 8).Flatten().Conv2d(4, 3));
        Assert.AreEqual(Status.ShapeMismatch, e.Status);
      }
      Assert.Throws<SparseTrainException>(() => new Context(-1));
    }

    // A batch taken from larger arrays at offsets trains, evaluates and predicts exactly as the
    // same batch copied out; an evaluation's logits are those its loss and accuracy come from.
    [Test]
    public void BatchWindowsEqualCopiedBatchesAndEvaluationGivesItsLogits() {
      var images = Images();
      var labels = Labels();
      const int first = 16, batch = 32, pixels = 784, classes = 10;
      var copiedImages = new float[batch * pixels];
      Array.Copy(images, first * pixels, copiedImages, 0, copiedImages.Length);
      var copiedLabels = new int[batch];
      Array.Copy(labels, first, copiedLabels, 0, batch);
      using (var context = new Context(2)) using (var windowed = SmallCnn(context)) using (
          var copied = SmallCnn(context)) {
        for (int step = 0; step < 3; ++step) {
          Assert.AreEqual(copied.TrainStep(copiedImages, copiedLabels).Loss,
                          windowed.TrainStep(images, first * pixels, labels, first, batch).Loss);
        }
        var logits = new float[5 + batch * classes + 7];
        var r = windowed.EvalStep(images, first * pixels, labels, first, batch, logits, 5);
        var mine = new float[batch * classes];
        Array.Copy(logits, 5, mine, 0, mine.Length);
        Assert.AreEqual(copied.Predict(copiedImages, batch), mine);
        double loss = 0;
        long correct = 0;
        for (int i = 0; i < batch; ++i) {
          int best = 0;
          double sum = 0;
          for (int c = 0; c < classes; ++c) {
            if (mine[i * classes + c] > mine[i * classes + best]) best = c;
            sum += Math.Exp(mine[i * classes + c] - mine[i * classes]);
          }
          loss += Math.Log(sum) - (mine[i * classes + copiedLabels[i]] - mine[i * classes]);
          if (best == copiedLabels[i]) ++correct;
        }
        Assert.AreEqual(loss / batch, r.Loss, 1e-5 * r.Loss);
        Assert.AreEqual(correct, r.Correct);
        Assert.AreEqual(0f, logits[4]);
        Assert.AreEqual(0f, logits[5 + batch * classes]);
        var predicted = new float[batch * classes + 3];
        windowed.Predict(images, first * pixels, batch, predicted, 3);
        var predictedMine = new float[batch * classes];
        Array.Copy(predicted, 3, predictedMine, 0, predictedMine.Length);
        Assert.AreEqual(mine, predictedMine);

        long steps = windowed.Steps;
        var e = Assert.Throws<SparseTrainException>(
            () => windowed.TrainStep(images, -1, labels, 0, batch));
        Assert.AreEqual(
            "InvalidArgument: TrainStep: images: offset -1 and count 25088 must not be negative",
            e.Message);
        e = Assert.Throws<SparseTrainException>(
            () => windowed.TrainStep(images, images.Length - pixels, labels, 0, 2));
        StringAssert.Contains("TrainStep: images: offset ", e.Message);
        StringAssert.Contains("overrun the array of 50176", e.Message);
        e = Assert.Throws<SparseTrainException>(
            () => windowed.TrainStep(images, 0, labels, BatchSize - 1, 2));
        StringAssert.Contains("TrainStep: labels: offset 63", e.Message);
        e = Assert.Throws<SparseTrainException>(
            () => windowed.EvalStep(images, 0, labels, 0, batch, new float[10], 0));
        StringAssert.Contains("EvalStep: logits: ", e.Message);
        e = Assert.Throws<SparseTrainException>(() => windowed.TrainStep(images, 0, labels, 0, -1));
        StringAssert.Contains("batch must be positive, got -1", e.Message);
        Assert.AreEqual(steps, windowed.Steps);
      }

      // Float targets: the same, and an evaluation's outputs give its mean squared error.
      var targets = new float[2 * BatchSize];
      for (int i = 0; i < targets.Length; ++i) targets[i] = (i % 5) / 4.0f;
      var copiedTargets = new float[2 * batch];
      Array.Copy(targets, 2 * first, copiedTargets, 0, copiedTargets.Length);
      using (var context = new Context(2)) using (var windowed = Regression(context)) using (
          var copied = Regression(context)) {
        Assert.AreEqual(
            copied.TrainStepTargets(copiedImages, copiedTargets).Loss,
            windowed.TrainStepTargets(images, first * pixels, targets, 2 * first, batch).Loss);
        var outputs = new float[2 * batch];
        var r = windowed.EvalStepTargets(images, first * pixels, targets, 2 * first, batch,
                                         outputs, 0);
        Assert.AreEqual(copied.EvalStepTargets(copiedImages, copiedTargets).Loss, r.Loss);
        double mse = 0;
        for (int i = 0; i < outputs.Length; ++i) mse += Math.Pow(outputs[i] - copiedTargets[i], 2);
        Assert.AreEqual(mse / outputs.Length, r.Loss, 1e-5 * r.Loss);
      }
    }

    static Model Regression(Context context) {
      var model = new Model.Builder(context, 1, 28, 28).Conv2d(4, 3).Relu().Flatten().Linear(2).Build(3);
      model.SetLoss(Loss.Mse);
      return model;
    }

    [Test]
    public void DisposedObjectsCannotBeUsed() {
      var context = new Context(1);
      var model = SmallCnn(context);
      model.Dispose();
      model.Dispose();  // disposing twice is harmless
      Assert.Throws<ObjectDisposedException>(() => { var s = model.Steps; });
      context.Dispose();
      Assert.Throws<ObjectDisposedException>(() => new Tensor(context, 1, 1, 1, 1, Layout.Nchw));
    }

    [Test]
    public void CheckpointRoundTrip() {
      var images = Images();
      var path =
          Path.Combine(Environment.GetEnvironmentVariable("TEST_TMPDIR") ?? Path.GetTempPath(),
                       "cs_model.safetensors");
      using (var context = new Context(2)) using (var model = SmallCnn(context)) using (
          var other = SmallCnn(context)) {
        model.TrainStep(images, Labels());
        model.Save(path);
        other.Load(path);
        CollectionAssert.AreEqual(model.Predict(images, BatchSize),
                                  other.Predict(images, BatchSize));
        other.Freeze("conv1");
        Assert.IsTrue(other.Layers[0].Frozen);
      }
    }

    [Test]
    public void ConvLayerMatchesAScalarReference() {
      var x = new float[2 * 4 * 5];
      var w = new float[3 * 2 * 3 * 3];
      var b = new float[] { 0.5f, -1.0f, 0.25f };
      for (int i = 0; i < x.Length; ++i) x[i] = (i % 3 == 0) ? 0.0f : (i % 7) - 3.0f;
      for (int i = 0; i < w.Length; ++i) w[i] = ((i * 5) % 9 - 4) / 4.0f;
      using (var context = new Context(1)) using (
          var conv = new Conv(
              context, 1, 2, 4, 5, 3, 3, 1, 1,
              true)) using (var tx = new Tensor(context, 1, 2, 4, 5, Layout.Blocked,
                                                x)) using (var ty = new Tensor(context, 1, 3, 4, 5,
                                                                               Layout.Blocked)) {
        conv.SetWeights(w, b);
        CollectionAssert.AreEqual(w, conv.Weights);
        foreach (var kernel in new[] { Kernel.Dense, Kernel.Sparse }) {
          conv.Kernel = kernel;
          conv.Forward(tx, ty);
          Assert.AreEqual(kernel, conv.LastCall(Conv.Pass.Forward).Kernel);
          var y = ty.ToArray();
          for (int k = 0; k < 3; ++k)
            for (int p = 0; p < 4; ++p)
              for (int q = 0; q < 5; ++q) {
                double sum = b[k];
                for (int c = 0; c < 2; ++c)
                  for (int r = 0; r < 3; ++r)
                    for (int s = 0; s < 3; ++s) {
                      int h = p - 1 + r, ww = q - 1 + s;
                      if (h >= 0 && h < 4 && ww >= 0 && ww < 5)
                        sum += x[(c * 4 + h) * 5 + ww] * w[((k * 2 + c) * 3 + r) * 3 + s];
                    }
                Assert.AreEqual(sum, y[(k * 4 + p) * 5 + q], 1e-4);
              }
        }
        var e = Assert.Throws<SparseTrainException>(() => conv.Forward(ty, tx));
        Assert.AreEqual(Status.ShapeMismatch, e.Status);
      }
    }

    /// <summary>torchvision's SqueezeNet 1.0 in ONNX (tests/onnx/torchvision_golden.py): 3x64x64,
    /// 10 classes.</summary>
    static string SqueezeNet =>
        Path.Combine(Environment.GetEnvironmentVariable("SPARSETRAIN_TESTDATA"), "squeezenet1_0.onnx");

    static float[] Noise(int count) {
      var random = new Random(5);
      var values = new float[count];
      for (int i = 0; i < count; ++i) values[i] = (float)(random.NextDouble() * 2 - 1);
      return values;
    }

    [Test]
    public void ImportsTrainsAndExportsOnnx() {
      var images = Noise(2 * 3 * 64 * 64);
      using (var context = new Context(2)) {
        var file = File.ReadAllBytes(SqueezeNet);
        using (var model = Model.ImportOnnx(context, SqueezeNet).Build(1))
        using (var fromBytes = Model.ImportOnnx(context, file).Build(2))
        using (var fromStream = Model.ImportOnnx(context, new MemoryStream(file)).Build(3)) {
          var want = model.Predict(images, 2);
          Assert.AreEqual(want, fromBytes.Predict(images, 2));
          Assert.AreEqual(want, fromStream.Predict(images, 2));
          // Trained, exported and imported again: the same predictions.
          model.TrainStep(images, new[] {1, 2});
          model.Kernel = Kernel.Dense;
          using (var again = Model.ImportOnnx(context, model.ExportOnnx()).Build(4)) {
            again.Kernel = Kernel.Dense;
            Assert.AreEqual(model.Predict(images, 2), again.Predict(images, 2));
          }
        }

        // Cut at the pooled features with a new head: the imported layers keep PyTorch's names.
        using (var cut = Model.ImportOnnx(context, SqueezeNet,
                                          "/classifier/classifier.3/GlobalAveragePool_output_0")
                             .Linear(4, "head")
                             .Build(5)) {
          Assert.AreEqual(4, cut.Classes);
          cut.Freeze("features");
          var parameters = cut.Parameters;
          Assert.AreEqual("features.0.weight", parameters[0].Name);
          Assert.AreEqual(new long[] {96, 3, 7, 7}, parameters[0].Shape);
          Assert.IsTrue(parameters[0].Frozen);
          Assert.AreEqual("head.bias", parameters[parameters.Count - 1].Name);
          var bias = cut.GetParameter("head.bias");
          bias[0] = 3.0f;
          cut.SetParameter("head.bias", bias);
          Assert.AreEqual(3.0f, cut.GetParameter("head.bias")[0]);
          var all = cut.GetParametersFlat();
          cut.SetParametersFlat(all);
          Assert.AreEqual(all, cut.GetParametersFlat());
          var checkpoint = cut.SaveToBytes();
          cut.SetParameter("head.bias", new float[4]);
          cut.Load(new MemoryStream(checkpoint));
          Assert.AreEqual(3.0f, cut.GetParameter("head.bias")[0]);
          var nan = Assert.Throws<SparseTrainException>(
              () => cut.SetParameter("head.bias", new[] {float.NaN, 0, 0, 0}));
          Assert.AreEqual(Status.InvalidArgument, nan.Status);
        }

        // Refusals: SparseTrainException with the C API's message, never another exception.
        var e = Assert.Throws<SparseTrainException>(
            () => Model.ImportOnnx(context, new byte[] {1, 2, 3}));
        Assert.AreEqual(Status.CorruptData, e.Status);
        e = Assert.Throws<SparseTrainException>(() => Model.ImportOnnx(context, SqueezeNet, "nothing"));
        StringAssert.Contains("nothing", e.Message);
        var n = Assert.Throws<ArgumentNullException>(() => Model.ImportOnnx(context, (byte[])null));
        Assert.AreEqual("onnx", n.ParamName);
      }
    }
  }

}  // namespace SparseTrain.Tests
