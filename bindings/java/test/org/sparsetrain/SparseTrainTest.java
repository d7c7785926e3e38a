package org.sparsetrain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

class SparseTrainTest {
  static final String DATA = "/usr/share/datasets/fashion-mnist";
  static final int BATCH = 64;

  /** The first `count` bytes of a gzip'd IDX file after its header. */
  static byte[] readIdx(String name, int header, int count) throws IOException {
    try (DataInputStream in =
             new DataInputStream(new GZIPInputStream(new FileInputStream(DATA + "/" + name)))) {
      in.skipBytes(header);
      byte[] bytes = new byte[count];
      in.readFully(bytes);
      return bytes;
    }
  }

  static float[] images() throws IOException {
    byte[] pixels = readIdx("train-images-idx3-ubyte.gz", 16, BATCH * 784);
    float[] images = new float[pixels.length];
    for (int i = 0; i < pixels.length; ++i) images[i] = (pixels[i] & 0xFF) / 255.0f;
    return images;
  }

  static int[] labels() throws IOException {
    byte[] bytes = readIdx("train-labels-idx1-ubyte.gz", 8, BATCH);
    int[] labels = new int[BATCH];
    for (int i = 0; i < BATCH; ++i) labels[i] = bytes[i];
    return labels;
  }

  /** The reference's dense kernels and Adam at 1e-3. */
  static Model withReferenceProtocol(Model model) {
    model.setKernel(SparseTrain.Kernel.DENSE);
    model.setOptimizer(Optimizer.adam(1e-3));
    return model;
  }

  /** The model of bindings/reference/reference_losses.c. */
  static Model smallCnn(Context context) {
    Model model = Model.builder(context, 1, 28, 28)
                      .conv2d(8, 3)
                      .relu()
                      .maxPool(2, 2, 0)
                      .flatten()
                      .linear(null, 10)
                      .build(7);
    return withReferenceProtocol(model);
  }

  /** The second network of bindings/reference/reference_losses.c: a branch, an addition, the
   * other activations, a channel gate, a concatenation, the other poolings. */
  static Model branchingNet(Context context) {
    Model model = Model.builder(context, 1, 28, 28)
                      .conv2d(8, 3)
                      .relu6(null)
                      .conv2d(8, 3)
                      .hardSwish(null)
                      .from("relu6_1")
                      .depthwiseConv2d(null, 3, 1, -1, true)
                      .conv2d(null, 8, 1, 1, 0, true)
                      .silu(null)
                      .add("join", "hardswish1", "silu1")
                      .hardSigmoid(null, 1.0f / 6.0f, 0.5f)
                      .clip(null, 0.0f, 0.9f)
                      .sigmoid(null)
                      .adaptiveAvgPool("gap", 1)
                      .multiply("gated", "sigmoid1", "gap")
                      .concat("cat", "gated", "relu6_1")
                      .groupedConv2d(null, 16, 3, 1, -1, true, 4)
                      .avgPool(null, 3, 2, 1, false, true)
                      .maxPoolCeil(2, 2, 0)
                      .flatten()
                      .linear(null, 10)
                      .build(7);
    return withReferenceProtocol(model);
  }

  @Test
  void branchingNetEqualsTheCApi() throws IOException {
    List<String> reference =
        Files.readAllLines(Paths.get(System.getProperty("sparsetrain.reference")));
    float[] images = images();
    int[] labels = labels();
    try (Context context = new Context(2); Model model = branchingNet(context)) {
      for (int step = 0; step < 5; ++step) {
        Model.StepResult r = model.trainStep(images, labels);
        assertEquals(Double.parseDouble(reference.get(5 + step)), r.loss, 0.0, "step " + step);
      }
    }
    try (Context context = new Context(1)) {
      SparseTrainException e = assertThrows(SparseTrainException.class,
          () -> Model.builder(context, 1, 8, 8).relu().from("nope"));
      assertEquals(Status.INVALID_ARGUMENT, e.status());
      assertTrue(e.getMessage().contains("'nope'"), e.getMessage());
    }
  }

  @Test
  void otherLossesEqualTheCApi() throws IOException {
    List<String> reference =
        Files.readAllLines(Paths.get(System.getProperty("sparsetrain.reference")));
    float[] images = images();
    int[] labels = labels();
    float[] weights = new float[10];
    for (int i = 0; i < 10; ++i) weights[i] = 0.5f + 0.1f * i;
    float[] targets = new float[2 * BATCH];
    int pixels = images.length / BATCH;
    for (int i = 0; i < BATCH; ++i) {
      double sum = 0;
      for (int p = 0; p < pixels; ++p) sum += images[i * pixels + p];
      targets[2 * i] = (float) (sum / pixels);
      targets[2 * i + 1] = labels[i] / 9.0f;
    }
    for (int network = 0; network < 2; ++network) {
      try (Context context = new Context(2);
           Model model = Model.builder(context, 1, 28, 28)
                             .conv2d(8, 3)
                             .relu()
                             .maxPool(2, 2, 0)
                             .flatten()
                             .linear(null, network == 0 ? 10 : 2)
                             .build(7)) {
        withReferenceProtocol(model);
        if (network == 0) {
          model.setLoss(SparseTrain.Loss.SOFTMAX_CROSS_ENTROPY, 0.1, weights);
        } else {
          model.setLoss(SparseTrain.Loss.MSE, 0.0, null);
          SparseTrainException e =
              assertThrows(SparseTrainException.class, () -> model.trainStep(images, labels));
          assertTrue(e.getMessage().contains("takes float targets"), e.getMessage());
        }
        for (int step = 0; step < 5; ++step) {
          Model.StepResult r = network == 0 ? model.trainStep(images, labels)
                                            : model.trainStepTargets(images, targets);
          assertEquals(Double.parseDouble(reference.get(10 + 5 * network + step)), r.loss, 0.0,
              "network " + network + " step " + step);
        }
      }
    }
  }

  @Test
  void versionAndIsa() {
    assertEquals("1.4.0", SparseTrain.version());
    assertNotEquals(SparseTrain.Isa.AUTO, SparseTrain.isa());
    assertTrue(SparseTrain.isaSupported(SparseTrain.Isa.AUTO));
    // every build lacks another architecture's ISAs: asking for one is refused, changing nothing
    SparseTrain.Isa before = SparseTrain.isa();
    for (SparseTrain.Isa isa : SparseTrain.Isa.values()) {
      if (SparseTrain.isaSupported(isa)) continue;
      var e = assertThrows(SparseTrainException.class, () -> SparseTrain.setIsa(isa));
      assertEquals(Status.UNSUPPORTED, e.status());
      assertEquals(before, SparseTrain.isa());
    }
  }

  @Test
  void lossDecreasesAndEqualsTheCApi() throws IOException {
    List<String> reference =
        Files.readAllLines(Paths.get(System.getProperty("sparsetrain.reference")));
    float[] images = images();
    int[] labels = labels();
    try (Context context = new Context(2); Model model = smallCnn(context)) {
      double first = 0, last = 0;
      for (int step = 0; step < 5; ++step) {
        Model.StepResult r = model.trainStep(images, labels);
        assertEquals(Double.parseDouble(reference.get(step)), r.loss, 0.0, "step " + step);
        if (step == 0)
          first = r.loss;
        last = r.loss;
      }
      assertTrue(last < first);
      assertEquals(5, model.steps());
      List<Model.LayerInfo> layers = model.layers();
      assertEquals("conv1", layers.get(0).name);
      assertTrue(layers.get(0).isConv && layers.get(0).ran[0]);
      assertEquals(SparseTrain.Kernel.DENSE, layers.get(0).kernel[0]);
    }
  }

  @Test
  void badInputRaisesWithTheNativeMessage() throws IOException {
    try (Context context = new Context(1); Model model = smallCnn(context)) {
      SparseTrainException e = assertThrows(
          SparseTrainException.class, () -> model.trainStep(new float[10], new int[BATCH]));
      assertEquals(Status.SHAPE_MISMATCH, e.status());
      assertTrue(e.getMessage().contains("st_model_train_step"), e.getMessage());
      int[] labels = labels();
      labels[3] = 10;
      e = assertThrows(SparseTrainException.class, () -> model.trainStep(images(), labels));
      assertEquals(Status.INVALID_ARGUMENT, e.status());
      assertTrue(e.getMessage().contains("label 10"), e.getMessage());
      NullPointerException n =
          assertThrows(NullPointerException.class, () -> model.trainStep(images(), null));
      assertEquals("Model.trainStep: labels is null", n.getMessage());
      n = assertThrows(NullPointerException.class, () -> model.predict(null, 1));
      assertEquals("Model.predict: images is null", n.getMessage());
      e = assertThrows(SparseTrainException.class, () -> model.predict(images(), -1));
      assertEquals(Status.INVALID_ARGUMENT, e.status());
      assertTrue(e.getMessage().contains("batch"), e.getMessage());
      e = assertThrows(SparseTrainException.class, () -> model.predict(images(), Integer.MAX_VALUE));
      assertEquals(Status.INVALID_ARGUMENT, e.status());
      e = assertThrows(SparseTrainException.class, () -> model.load("/no/such/file.safetensors"));
      assertEquals(Status.IO_ERROR, e.status());
      assertEquals(0, model.steps());
    }
    try (Context context = new Context(1)) {
      SparseTrainException e = assertThrows(
          SparseTrainException.class, () -> Model.builder(context, 1, 8, 8).flatten().conv2d(4, 3));
      assertEquals(Status.SHAPE_MISMATCH, e.status());
    }
    assertThrows(SparseTrainException.class, () -> new Context(-1));
  }

  /**
   * A batch taken from larger arrays at offsets trains, evaluates and predicts exactly as the same
   * batch copied out; an evaluation's logits are those its loss and accuracy come from.
   */
  @Test
  void batchWindowsEqualCopiedBatchesAndEvaluationGivesItsLogits() throws IOException {
    float[] images = images();
    int[] labels = labels();
    final int first = 16, batch = 32, pixels = 784, classes = 10;
    float[] copiedImages = Arrays.copyOfRange(images, first * pixels, (first + batch) * pixels);
    int[] copiedLabels = Arrays.copyOfRange(labels, first, first + batch);
    try (Context context = new Context(2); Model windowed = smallCnn(context);
         Model copied = smallCnn(context)) {
      for (int step = 0; step < 3; ++step) {
        assertEquals(copied.trainStep(copiedImages, copiedLabels).loss,
            windowed.trainStep(images, first * pixels, labels, first, batch).loss);
      }
      float[] logits = new float[5 + batch * classes + 7];
      Model.StepResult r =
          windowed.evalStep(images, first * pixels, labels, first, batch, logits, 5);
      float[] mine = Arrays.copyOfRange(logits, 5, 5 + batch * classes);
      assertArrayEquals(copied.predict(copiedImages, batch), mine);
      double loss = 0;
      long correct = 0;
      for (int i = 0; i < batch; ++i) {
        int best = 0;
        double sum = 0;
        for (int c = 0; c < classes; ++c) {
          if (mine[i * classes + c] > mine[i * classes + best])
            best = c;
          sum += Math.exp(mine[i * classes + c] - mine[i * classes]);
        }
        loss += Math.log(sum) - (mine[i * classes + copiedLabels[i]] - mine[i * classes]);
        correct += best == copiedLabels[i] ? 1 : 0;
      }
      assertEquals(loss / batch, r.loss, 1e-5 * r.loss);
      assertEquals(correct, r.correct);
      assertEquals(0, logits[4]);
      assertEquals(0, logits[5 + batch * classes]);
      float[] predicted = new float[batch * classes + 3];
      windowed.predict(images, first * pixels, batch, predicted, 3);
      assertArrayEquals(mine, Arrays.copyOfRange(predicted, 3, predicted.length));

      long steps = windowed.steps();
      SparseTrainException e = assertThrows(SparseTrainException.class,
          () -> windowed.trainStep(images, -1, labels, 0, batch));
      assertEquals("INVALID_ARGUMENT: Model.trainStep: images: offset -1 and count 25088 must "
              + "not be negative",
          e.getMessage());
      e = assertThrows(SparseTrainException.class,
          () -> windowed.trainStep(images, images.length - pixels, labels, 0, 2));
      assertTrue(e.getMessage().startsWith("INVALID_ARGUMENT: Model.trainStep: images: offset "),
          e.getMessage());
      assertTrue(e.getMessage().contains("overrun the array of 50176"), e.getMessage());
      e = assertThrows(SparseTrainException.class,
          () -> windowed.trainStep(images, 0, labels, BATCH - 1, 2));
      assertTrue(e.getMessage().contains("Model.trainStep: labels: offset 63"), e.getMessage());
      e = assertThrows(SparseTrainException.class,
          () -> windowed.evalStep(images, 0, labels, 0, batch, new float[10], 0));
      assertTrue(e.getMessage().contains("Model.evalStep: logits: "), e.getMessage());
      e = assertThrows(SparseTrainException.class,
          () -> windowed.trainStep(images, 0, labels, 0, -1));
      assertTrue(e.getMessage().contains("batch must be positive, got -1"), e.getMessage());
      assertEquals(steps, windowed.steps());
    }

    // Float targets: the same, and an evaluation's outputs give its mean squared error.
    float[] targets = new float[2 * BATCH];
    for (int i = 0; i < targets.length; ++i) targets[i] = (i % 5) / 4.0f;
    float[] copiedTargets = Arrays.copyOfRange(targets, 2 * first, 2 * (first + batch));
    try (Context context = new Context(2); Model windowed = regression(context);
         Model copied = regression(context)) {
      assertEquals(copied.trainStepTargets(copiedImages, copiedTargets).loss,
          windowed.trainStepTargets(images, first * pixels, targets, 2 * first, batch).loss);
      float[] outputs = new float[2 * batch];
      Model.StepResult r = windowed.evalStepTargets(
          images, first * pixels, targets, 2 * first, batch, outputs, 0);
      assertEquals(copied.evalStepTargets(copiedImages, copiedTargets).loss, r.loss);
      double mse = 0;
      for (int i = 0; i < outputs.length; ++i)
        mse += Math.pow(outputs[i] - copiedTargets[i], 2);
      assertEquals(mse / outputs.length, r.loss, 1e-5 * r.loss);
    }
  }

  static Model regression(Context context) {
    Model model = Model.builder(context, 1, 28, 28).conv2d(4, 3).relu().flatten().linear(null, 2).build(3);
    model.setLoss(SparseTrain.Loss.MSE, 0.0, null);
    return model;
  }

  @Test
  void closedObjectsCannotBeUsed() {
    Context context = new Context(1);
    Model model = smallCnn(context);
    model.close();
    model.close(); // closing twice is harmless
    assertThrows(IllegalStateException.class, model::steps);
    context.close();
    assertThrows(IllegalStateException.class,
        () -> new Tensor(context, 1, 1, 1, 1, Tensor.Layout.NCHW, null));
  }

  @Test
  void checkpointRoundTrip(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
    float[] images = images();
    try (Context context = new Context(2); Model model = smallCnn(context);
         Model other = smallCnn(context)) {
      model.trainStep(images, labels());
      String path = dir.resolve("model.safetensors").toString();
      model.save(path);
      other.load(path);
      assertArrayEquals(model.predict(images, BATCH), other.predict(images, BATCH));
      other.freeze("conv1");
      assertTrue(other.layers().get(0).frozen);
    }
  }

  @Test
  void convLayerMatchesAScalarReference() {
    // 1 image, 2 -> 3 channels, 4x5, 3x3 kernel, stride 1, padding 1.
    float[] x = new float[2 * 4 * 5];
    float[] w = new float[3 * 2 * 3 * 3];
    float[] b = {0.5f, -1.0f, 0.25f};
    for (int i = 0; i < x.length; ++i) x[i] = (i % 3 == 0) ? 0.0f : (i % 7) - 3.0f;
    for (int i = 0; i < w.length; ++i) w[i] = ((i * 5) % 9 - 4) / 4.0f;
    try (Context context = new Context(1);
         Conv conv = new Conv(context, 1, 2, 4, 5, 3, 3, 1, 1, true);
         Tensor tx = new Tensor(context, 1, 2, 4, 5, Tensor.Layout.BLOCKED, x);
         Tensor ty = new Tensor(context, 1, 3, 4, 5, Tensor.Layout.BLOCKED, null)) {
      conv.setWeights(w, b);
      assertArrayEquals(w, conv.weights());
      for (SparseTrain.Kernel kernel :
          new SparseTrain.Kernel[] {SparseTrain.Kernel.DENSE, SparseTrain.Kernel.SPARSE}) {
        conv.setKernel(kernel);
        conv.forward(tx, ty);
        assertEquals(kernel, conv.lastCall(Conv.Pass.FORWARD).kernel);
        float[] y = ty.toArray();
        for (int k = 0; k < 3; ++k) {
          for (int p = 0; p < 4; ++p) {
            for (int q = 0; q < 5; ++q) {
              double sum = b[k];
              for (int c = 0; c < 2; ++c) {
                for (int r = 0; r < 3; ++r) {
                  for (int s = 0; s < 3; ++s) {
                    int h = p - 1 + r, ww = q - 1 + s;
                    if (h >= 0 && h < 4 && ww >= 0 && ww < 5)
                      sum += x[(c * 4 + h) * 5 + ww] * w[((k * 2 + c) * 3 + r) * 3 + s];
                  }
                }
              }
              assertEquals(sum, y[(k * 4 + p) * 5 + q], 1e-4);
            }
          }
        }
      }
      assertArrayEquals(new long[] {1, 3, 4, 5}, conv.outputDims());
      SparseTrainException e = assertThrows(SparseTrainException.class, () -> conv.forward(ty, tx));
      assertEquals(Status.SHAPE_MISMATCH, e.status());
    }
  }

  /** torchvision's SqueezeNet 1.0 in ONNX (tests/onnx/torchvision_golden.py): 3x64x64, 10 classes. */
  static final String SQUEEZENET = System.getProperty("sparsetrain.testdata") + "/squeezenet1_0.onnx";

  static float[] noise(int count) {
    java.util.Random random = new java.util.Random(5);
    float[] values = new float[count];
    for (int i = 0; i < count; ++i) values[i] = (float) random.nextGaussian();
    return values;
  }

  @Test
  void importsTrainsAndExportsOnnx() throws IOException {
    float[] images = noise(2 * 3 * 64 * 64);
    try (Context context = new Context(2)) {
      byte[] file = Files.readAllBytes(Paths.get(SQUEEZENET));
      try (Model model = Model.importOnnx(context, SQUEEZENET, null).build(1);
           Model fromBytes = Model.importOnnx(context, file, null).build(2);
           Model fromBuffer =
               Model.importOnnx(context, java.nio.ByteBuffer.wrap(file), null).build(3);
           Model fromStream =
               Model.importOnnx(context, new java.io.ByteArrayInputStream(file), null).build(4)) {
        float[] want = model.predict(images, 2);
        assertArrayEquals(want, fromBytes.predict(images, 2));
        assertArrayEquals(want, fromBuffer.predict(images, 2));
        assertArrayEquals(want, fromStream.predict(images, 2));

        // Trained, exported and imported again: the same predictions.
        model.trainStep(images, new int[] {1, 2});
        model.setKernel(SparseTrain.Kernel.DENSE);
        try (Model again = Model.importOnnx(context, model.exportOnnx(), null).build(5)) {
          again.setKernel(SparseTrain.Kernel.DENSE);
          assertArrayEquals(model.predict(images, 2), again.predict(images, 2));
        }
      }

      // Cut at the last Relu's input with a new head: the imported layers are PyTorch's names.
      try (Model cut = Model.importOnnx(context, SQUEEZENET, "/classifier/classifier.3/GlobalAveragePool_output_0")
                           .linear("head", 4)
                           .build(6)) {
        assertEquals(4, cut.classes());
        cut.freeze("features");
        List<Model.ParameterInfo> parameters = cut.parameters();
        assertEquals("features.0.weight", parameters.get(0).name);
        assertArrayEquals(new long[] {96, 3, 7, 7}, parameters.get(0).shape);
        assertTrue(parameters.get(0).frozen);
        assertEquals("head.bias", parameters.get(parameters.size() - 1).name);
        float[] bias = cut.parameter("head.bias");
        bias[0] = 3.0f;
        cut.setParameter("head.bias", bias);
        assertEquals(3.0f, cut.parameter("head.bias")[0]);
        float[] all = cut.parametersFlat();
        cut.setParametersFlat(all);
        assertArrayEquals(all, cut.parametersFlat());
        byte[] checkpoint = cut.saveToBytes();
        cut.setParameter("head.bias", new float[] {0, 0, 0, 0});
        cut.load(new java.io.ByteArrayInputStream(checkpoint));
        assertEquals(3.0f, cut.parameter("head.bias")[0]);
        SparseTrainException e = assertThrows(
            SparseTrainException.class, () -> cut.setParameter("head.bias", new float[] {Float.NaN, 0, 0, 0}));
        assertEquals(Status.INVALID_ARGUMENT, e.status());
      }

      // Refusals: the language's exception with the C API's message.
      SparseTrainException e = assertThrows(
          SparseTrainException.class, () -> Model.importOnnx(context, new byte[] {1, 2, 3}, null));
      assertEquals(Status.CORRUPT_DATA, e.status());
      e = assertThrows(SparseTrainException.class, () -> Model.importOnnx(context, SQUEEZENET, "nothing"));
      assertTrue(e.getMessage().contains("nothing"), e.getMessage());
      NullPointerException n = assertThrows(
          NullPointerException.class, () -> Model.importOnnx(context, (byte[]) null, null));
      assertEquals("Model.importOnnx: onnx is null", n.getMessage());
    }
  }
}
