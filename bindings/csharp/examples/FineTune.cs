// Fine-tunes the demo's CNN on Fashion-MNIST from C#: with a checkpoint argument (e.g.
// fashion_mnist_out/model.safetensors from tools/demo.sh) only the classifier trains; without one,
// the whole network trains for an epoch. Prints the test accuracy and saves finetuned.safetensors.
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

  static void Main(string[] args) {
    var trainImages = Read("train-images-idx3-ubyte.gz", 16);
    var trainLabels = Read("train-labels-idx1-ubyte.gz", 8);
    var testImages = Read("t10k-images-idx3-ubyte.gz", 16);
    var testLabels = Read("t10k-labels-idx1-ubyte.gz", 8);
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
