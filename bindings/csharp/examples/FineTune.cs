// Fine-tunes on Fashion-MNIST from C#. With a checkpoint argument (e.g.
// fashion_mnist_out/model.safetensors from tools/demo.sh) the demo's CNN loads it and only the
// classifier trains; without one, the whole network trains for an epoch; either way it prints the
// test accuracy and saves finetuned.safetensors. With BACKBONE.onnx [SCRATCH.onnx] (from
// tools/pretrain_backbone.py: a CNN trained in PyTorch on classes 0-4) it imports the backbone,
// cuts it at its pooled features, gives it a head for classes 5-9 and trains on 200 examples, the
// backbone frozen and then throughout, and the untrained twin from scratch for comparison.
using System;
using System.IO;
using System.IO.Compression;
using SparseTrain;

static class FineTune {
  const string Data = "/usr/share/datasets/fashion-mnist/";
  const int Batch = 64, Pixels = 28 * 28;

  static byte[] Read(string name, int header) {
    using (var gz = new GZipStream(File.OpenRead(Data + name), CompressionMode.Decompress)) using (
        var bytes = new MemoryStream()) {
      gz.CopyTo(bytes);
      var all = bytes.ToArray();
      var result = new byte[all.Length - header];
      Array.Copy(all, header, result, 0, result.Length);
      return result;
    }
  }

  // Runs batches through step; returns the examples it got right.
  static long Epoch(byte[] pixels, byte[] labels, Func<float[], int[], Model.StepResult> step) {
    var images = new float[Batch * Pixels];
    var batchLabels = new int[Batch];
    long correct = 0;
    for (int start = 0; start + Batch <= labels.Length; start += Batch) {
      for (int i = 0; i < Batch * Pixels; ++i) images[i] = pixels[start * Pixels + i] / 255.0f;
      for (int i = 0; i < Batch; ++i) batchLabels[i] = labels[start + i];
      correct += step(images, batchLabels).Correct;
    }
    return correct;
  }

  // The first `limit` images of classes 5-9 as floats, with labels 0-4; returns how many.
  static int NewClasses(byte[] pixels, byte[] labels, int limit, float[] images, int[] newLabels) {
    int kept = 0;
    for (int i = 0; i < labels.Length && kept < limit; ++i) {
      if (labels[i] < 5) continue;
      for (int p = 0; p < Pixels; ++p) images[kept * Pixels + p] = pixels[i * Pixels + p] / 255.0f;
      newLabels[kept++] = labels[i] - 5;
    }
    return kept;
  }

  static T[] Slice<T>(T[] values, int start, int end) {
    var part = new T[end - start];
    Array.Copy(values, start, part, 0, part.Length);
    return part;
  }

  // Imports onnx cut at its pooled features with a new head, trains and tests it.
  static double FineTuneOnnx(Context context, string onnx, bool freeze, float[] x, int[] y,
                             int count, float[] testX, int[] testY, int tests) {
    const int batch = 50;
    using (var model = Model.ImportOnnx(context, onnx, "/Flatten_output_0").Linear(5, "head").Build(1)) {
      if (freeze) model.Freeze("features");  // the backbone's module
      model.SetOptimizer(Optimizer.Adam(freeze ? 1e-2 : 1e-3));
      for (int epoch = 0; epoch < 10; ++epoch)
        for (int start = 0; start + batch <= count; start += batch)
          model.TrainStep(Slice(x, start * Pixels, (start + batch) * Pixels),
                          Slice(y, start, start + batch));
      long correct = 0;
      for (int start = 0; start < tests; start += batch) {
        int end = Math.Min(tests, start + batch);
        correct += model.EvalStep(Slice(testX, start * Pixels, end * Pixels), Slice(testY, start, end))
                       .Correct;
      }
      return correct / (double)tests;
    }
  }

  static void BringYourOwnModel(string[] args, byte[] trainImages, byte[] trainLabels,
                                byte[] testImages, byte[] testLabels) {
    var x = new float[200 * Pixels];
    var y = new int[200];
    var testX = new float[testLabels.Length * Pixels];
    var testY = new int[testLabels.Length];
    int count = NewClasses(trainImages, trainLabels, 200, x, y);
    int tests = NewClasses(testImages, testLabels, testLabels.Length, testX, testY);
    using (var context = new Context(2)) {
      Console.WriteLine("imported backbone, frozen, new head: test accuracy {0:F4} on classes 5-9",
                        FineTuneOnnx(context, args[0], true, x, y, count, testX, testY, tests));
      Console.WriteLine("imported backbone, all trained:      test accuracy {0:F4} on classes 5-9",
                        FineTuneOnnx(context, args[0], false, x, y, count, testX, testY, tests));
      if (args.Length > 1)
        Console.WriteLine("the same network from scratch:       test accuracy {0:F4} on classes 5-9",
                          FineTuneOnnx(context, args[1], false, x, y, count, testX, testY, tests));
    }
  }

  static void Main(string[] args) {
    var trainImages = Read("train-images-idx3-ubyte.gz", 16);
    var trainLabels = Read("train-labels-idx1-ubyte.gz", 8);
    var testImages = Read("t10k-images-idx3-ubyte.gz", 16);
    var testLabels = Read("t10k-labels-idx1-ubyte.gz", 8);
    if (args.Length > 0 && args[0].EndsWith(".onnx")) {
      BringYourOwnModel(args, trainImages, trainLabels, testImages, testLabels);
      return;
    }
    using (var context = new Context(2)) using (var model = new Model.Builder(context, 1, 28, 28)
                                                                .Conv2d(32, 3)
                                                                .Relu()
                                                                .MaxPool(2, 2)
                                                                .Conv2d(64, 3)
                                                                .Relu()
                                                                .MaxPool(2, 2)
                                                                .Conv2d(128, 3)
                                                                .Relu()
                                                                .MaxPool(2, 2)
                                                                .Flatten()
                                                                .Dropout(0.25f)
                                                                .Linear(10)
                                                                .Build(1)) {
      if (args.Length > 0) {
        model.Load(args[0]);
        foreach (var layer in new[] { "conv1", "conv2", "conv3" }) model.Freeze(layer);
        Console.WriteLine("loaded " + args[0] + "; training the classifier only");
      }
      model.SetOptimizer(Optimizer.Adam(1e-3));
      Epoch(trainImages, trainLabels, model.TrainStep);
      long correct = Epoch(testImages, testLabels, model.EvalStep);
      Console.WriteLine("test accuracy {0:F4}",
                        correct / (double)(testLabels.Length / Batch * Batch));
      model.Save("finetuned.safetensors");
    }
  }
}
