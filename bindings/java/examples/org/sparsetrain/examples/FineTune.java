package org.sparsetrain.examples;

import java.io.DataInputStream;
import java.io.FileInputStream;
import java.io.IOException;
import java.util.zip.GZIPInputStream;
import org.sparsetrain.Context;
import org.sparsetrain.Model;
import org.sparsetrain.Optimizer;

/**
 * Fine-tunes the demo's CNN on Fashion-MNIST from Java: with a checkpoint argument (e.g.
 * fashion_mnist_out/model.safetensors from tools/demo.sh) only the classifier trains; without one,
 * the whole network trains for an epoch. Prints the test accuracy and saves finetuned.safetensors.
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

  public static void main(String[] args) throws IOException {
    byte[] trainImages = read("train-images-idx3-ubyte.gz", 16),
           trainLabels = read("train-labels-idx1-ubyte.gz", 8);
    byte[] testImages = read("t10k-images-idx3-ubyte.gz", 16),
           testLabels = read("t10k-labels-idx1-ubyte.gz", 8);
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
