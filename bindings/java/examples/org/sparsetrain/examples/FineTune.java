package org.sparsetrain.examples;

import java.io.DataInputStream;
import java.io.FileInputStream;
import java.io.IOException;
import java.util.zip.GZIPInputStream;
import org.sparsetrain.Context;
import org.sparsetrain.Model;
import org.sparsetrain.Optimizer;

/**
 * Fine-tunes on Fashion-MNIST from Java. With a checkpoint argument (e.g.
 * fashion_mnist_out/model.safetensors from tools/demo.sh) the demo's CNN loads it and only the
 * classifier trains; without one, the whole network trains for an epoch; either way it prints the
 * test accuracy and saves finetuned.safetensors. With BACKBONE.onnx [SCRATCH.onnx] (from
 * tools/pretrain_backbone.py: a CNN trained in PyTorch on classes 0-4) it imports the backbone, cuts
 * it at its pooled features, gives it a head for classes 5-9 and trains on 200 examples, the
 * backbone frozen and then throughout, and the untrained twin from scratch for comparison.
 */
public final class FineTune {
  static final String DATA = "/usr/share/datasets/fashion-mnist/";
  static final int BATCH = 64;
  static final int PIXELS = 28 * 28;

  static byte[] read(String name, int header) throws IOException {
    try (DataInputStream in =
             new DataInputStream(new GZIPInputStream(new FileInputStream(DATA + name)))) {
      in.skipBytes(header);
      return in.readAllBytes();
    }
  }

  /** Runs batches of `pixels`/`labels` through `step` and returns the examples it got right. */
  interface Step {
    Model.StepResult run(float[] images, int[] labels);
  }

  static long epoch(byte[] pixels, byte[] labels, Step step) {
    float[] images = new float[BATCH * PIXELS];
    int[] batchLabels = new int[BATCH];
    long correct = 0;
    for (int start = 0; start + BATCH <= labels.length; start += BATCH) {
      for (int i = 0; i < BATCH * PIXELS; ++i)
        images[i] = (pixels[start * PIXELS + i] & 0xFF) / 255.0f;
      for (int i = 0; i < BATCH; ++i) batchLabels[i] = labels[start + i];
      correct += step.run(images, batchLabels).correct;
    }
    return correct;
  }

  /** The first `limit` images of classes 5-9 as floats, with labels 0-4. */
  static int newClasses(byte[] pixels, byte[] labels, int limit, float[] images, int[] newLabels) {
    int kept = 0;
    for (int i = 0; i < labels.length && kept < limit; ++i) {
      if (labels[i] < 5) continue;
      for (int p = 0; p < PIXELS; ++p) images[kept * PIXELS + p] = (pixels[i * PIXELS + p] & 0xFF) / 255.0f;
      newLabels[kept++] = labels[i] - 5;
    }
    return kept;
  }

  /** Imports `onnx` cut at its pooled features with a new head, trains and tests it. */
  static double fineTuneOnnx(Context context, String onnx, boolean freeze, float[] x, int[] y,
      int count, float[] testX, int[] testY, int tests) {
    final int batch = 50;
    try (Model model = Model.importOnnx(context, onnx, "/Flatten_output_0").linear("head", 5).build(1)) {
      if (freeze) model.freeze("features"); // the backbone's module
      model.setOptimizer(Optimizer.adam(freeze ? 1e-2 : 1e-3));
      for (int epoch = 0; epoch < 10; ++epoch) {
        for (int start = 0; start + batch <= count; start += batch) {
          model.trainStep(java.util.Arrays.copyOfRange(x, start * PIXELS, (start + batch) * PIXELS),
              java.util.Arrays.copyOfRange(y, start, start + batch));
        }
      }
      long correct = 0;
      for (int start = 0; start < tests; start += batch) {
        int end = Math.min(tests, start + batch);
        correct += model.evalStep(java.util.Arrays.copyOfRange(testX, start * PIXELS, end * PIXELS),
            java.util.Arrays.copyOfRange(testY, start, end)).correct;
      }
      return correct / (double) tests;
    }
  }

  static void bringYourOwnModel(String[] args, byte[] trainImages, byte[] trainLabels,
      byte[] testImages, byte[] testLabels) {
    float[] x = new float[200 * PIXELS], testX = new float[testLabels.length * PIXELS];
    int[] y = new int[200], testY = new int[testLabels.length];
    int count = newClasses(trainImages, trainLabels, 200, x, y);
    int tests = newClasses(testImages, testLabels, testLabels.length, testX, testY);
    try (Context context = new Context(2)) {
      System.out.printf("imported backbone, frozen, new head: test accuracy %.4f on classes 5-9%n",
          fineTuneOnnx(context, args[0], true, x, y, count, testX, testY, tests));
      System.out.printf("imported backbone, all trained:      test accuracy %.4f on classes 5-9%n",
          fineTuneOnnx(context, args[0], false, x, y, count, testX, testY, tests));
      if (args.length > 1) {
        System.out.printf("the same network from scratch:       test accuracy %.4f on classes 5-9%n",
            fineTuneOnnx(context, args[1], false, x, y, count, testX, testY, tests));
      }
    }
  }

  public static void main(String[] args) throws IOException {
    byte[] trainImages = read("train-images-idx3-ubyte.gz", 16),
           trainLabels = read("train-labels-idx1-ubyte.gz", 8);
    byte[] testImages = read("t10k-images-idx3-ubyte.gz", 16),
           testLabels = read("t10k-labels-idx1-ubyte.gz", 8);
    if (args.length > 0 && args[0].endsWith(".onnx")) {
      bringYourOwnModel(args, trainImages, trainLabels, testImages, testLabels);
      return;
    }
    try (Context context = new Context(2); Model model = Model.builder(context, 1, 28, 28)
                                                             .conv2d(32, 3)
                                                             .relu()
                                                             .maxPool(2, 2, 0)
                                                             .conv2d(64, 3)
                                                             .relu()
                                                             .maxPool(2, 2, 0)
                                                             .conv2d(128, 3)
                                                             .relu()
                                                             .maxPool(2, 2, 0)
                                                             .flatten()
                                                             .dropout(0.25f)
                                                             .linear(null, 10)
                                                             .build(1)) {
      if (args.length > 0) {
        model.load(args[0]);
        for (String layer : new String[] {"conv1", "conv2", "conv3"}) model.freeze(layer);
        System.out.println("loaded " + args[0] + "; training the classifier only");
      }
      model.setOptimizer(Optimizer.adam(1e-3));
      epoch(trainImages, trainLabels, model::trainStep);
      long correct = epoch(testImages, testLabels, model::evalStep);
      System.out.printf(
          "test accuracy %.4f%n", correct / (double) (testLabels.length / BATCH * BATCH));
      model.save("finetuned.safetensors");
    }
  }
}
