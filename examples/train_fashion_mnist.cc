// Trains a small CNN on Fashion-MNIST with the SparseTrain runtime: the main job of tools/demo.sh.
//
//   bazel run -c opt //examples:train_fashion_mnist -- [options]
//     --model cnn|mobilenet_v2|resnet18 (cnn; examples/fashion_mnist_model.h)
//     --epochs N (8)  --batch N (64)  --isa auto|avx512|avx2|sse4|scalar
//     --threads N (2; 0: every CPU the process may use, and never more than those)
//     --dense-only           dense kernels throughout (no per-layer sparse choice)
//     --optimizer adam|adamw|sgd (adam)  --lr X (0.001)  --seed N (1)
//     --init-from FILE       start from a checkpoint (fine-tuning)
//     --freeze a,b,...       layers to freeze, e.g. conv1,conv2 (fine-tune the rest)
//     --train-limit N        use only the first N training images
//     --data-dir DIR (/usr/share/datasets/fashion-mnist)  --out-dir DIR (fashion_mnist_out)
//
// Prints a progress bar, test accuracy after each epoch, a per-layer table (zero fractions, kernel
// chosen per pass, time per pass, speedup over the dense kernels on the same batches), memory use;
// writes OUT/model.safetensors, OUT/metrics.csv and OUT/training.png (when gnuplot is installed).
// The last line is "RESULT test_accuracy=<fraction> images_per_s=<x> epochs=<n>".
#include <pthreadpool.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "examples/fashion_mnist_model.h"
#include "kernels/isa.h"
#include "runtime/idx_dataset.h"
#include "runtime/model.h"
#include "runtime/random.h"
#include "runtime/thread_pool.h"

namespace st = sparsetrain;

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int64_t epochs = 8, batch = 64, threads = 2, train_limit = 0;
  uint64_t seed = 1;
  std::string model = "cnn", isa = "auto", optimizer = "adam";
  double lr = 1e-3;
  bool dense_only = false;
  std::string init_from, freeze;
  std::string data_dir = "/usr/share/datasets/fashion-mnist", out_dir = "fashion_mnist_out";
};

bool ParseOptions(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const auto number = [&](auto* field) {
      const char* v = value();
      if (v == nullptr) return false;
      char* end = nullptr;
      const double parsed = std::strtod(v, &end);
      if (*end != '\0' || parsed <= 0) return false;
      *field = static_cast<std::remove_pointer_t<decltype(field)>>(parsed);
      return true;
    };
    const auto text = [&](std::string* field) {
      const char* v = value();
      if (v != nullptr) *field = v;
      return v != nullptr;
    };
    bool ok = true;
    if (arg == "--epochs")
      ok = number(&o->epochs);
    else if (arg == "--batch")
      ok = number(&o->batch);
    else if (arg == "--threads")
      ok = number(&o->threads);
    else if (arg == "--train-limit")
      ok = number(&o->train_limit);
    else if (arg == "--seed")
      ok = number(&o->seed);
    else if (arg == "--lr")
      ok = number(&o->lr);
    else if (arg == "--isa")
      ok = text(&o->isa);
    else if (arg == "--model")
      ok = text(&o->model);
    else if (arg == "--optimizer")
      ok = text(&o->optimizer);
    else if (arg == "--init-from")
      ok = text(&o->init_from);
    else if (arg == "--freeze")
      ok = text(&o->freeze);
    else if (arg == "--data-dir")
      ok = text(&o->data_dir);
    else if (arg == "--out-dir")
      ok = text(&o->out_dir);
    else if (arg == "--dense-only")
      o->dense_only = true;
    else
      ok = false;
    if (!ok) {
      std::fprintf(stderr,
                   "bad or unknown option '%s' (see the top of examples/train_fashion_mnist.cc)\n",
                   arg.c_str());
      return false;
    }
  }
  return true;
}

int Fail(const st::Status& status) {
  std::fprintf(stderr, "error: %s\n", status.message().c_str());
  return 1;
}

// ",x_zeros,dy_zeros" of each convolution in the last step, for metrics.csv.
std::string ConvZeros(const st::Model& model) {
  std::string text;
  for (const st::LayerReport& r : model.Telemetry()) {
    if (r.kind == "conv2d") {
      text += "," + std::to_string(r.telemetry.input_zeros) + "," +
              std::to_string(r.telemetry.grad_zeros);
    }
  }
  return text;
}

double ResidentMiB(const char* field) {  // from /proc/self/status, e.g. "VmRSS:" or "VmHWM:"
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field, 0) == 0) return std::atof(line.c_str() + std::strlen(field)) / 1024.0;
  }
  return 0.0;
}

std::string Duration(double seconds) {
  char text[32];
  const int s = int(seconds + 0.5);
  std::snprintf(text, sizeof(text), "%d:%02d", s / 60, s % 60);
  return text;
}

void ProgressBar(int64_t epoch, int64_t epochs, int64_t step, int64_t steps, double loss,
                 double accuracy, double images_per_s, double eta_s) {
  constexpr int kWidth = 24;
  const int filled = int(kWidth * double(step) / double(steps));
  std::string bar(size_t(filled), '=');
  if (filled < kWidth) bar += '>' + std::string(size_t(kWidth - filled - 1), ' ');
  std::fprintf(
      stderr, "\repoch %lld/%lld [%s] step %lld/%lld  loss %.4f  acc %5.1f%%  %6.0f img/s  ETA %s ",
      (long long)epoch, (long long)epochs, bar.c_str(), (long long)step, (long long)steps, loss,
      100.0 * accuracy, images_per_s, Duration(eta_s).c_str());
  std::fflush(stderr);
}

// Test accuracy in evaluation mode, in batches.
st::Status Evaluate(st::Model* model, const st::ImageDataset& test, int64_t batch,
                    double* accuracy) {
  std::vector<float> images(size_t(batch * test.height * test.width));
  std::vector<int32_t> labels(static_cast<size_t>(batch));
  std::vector<int64_t> indices(static_cast<size_t>(batch));
  int64_t correct = 0;
  for (int64_t start = 0; start < test.count; start += batch) {
    const int64_t n = std::min(batch, test.count - start);
    for (int64_t i = 0; i < n; ++i) indices[i] = start + i;
    test.Batch(indices.data(), n, images.data(), labels.data());
    st::StepResult result;
    st::Status status = model->EvalStep(images.data(), labels.data(), n, &result);
    if (!status.ok()) return status;
    correct += result.correct;
  }
  *accuracy = double(correct) / double(test.count);
  return st::Status::Ok();
}

struct PassTimes {
  std::vector<double> ms[3];
};

double Median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string ZerosText(double zeros) {
  if (zeros < 0) return "   -";
  char text[16];
  std::snprintf(text, sizeof(text), "%3.0f%%", 100.0 * zeros);
  return text;
}

// Trains a few more batches alternating the dense kernels and the chosen ones, and prints the
// per-layer table: zero fractions, kernel per pass, median time per pass, speedup over dense.
st::Status PrintLayerTable(st::Model* model, const st::ImageDataset& train, int64_t batch,
                           bool dense_only) {
  constexpr int kRounds = 12;
  std::vector<float> images(size_t(batch * train.height * train.width));
  std::vector<int32_t> labels(static_cast<size_t>(batch));
  std::map<std::string, PassTimes> chosen, dense;
  const st::KernelPolicy policy = model->policy();
  for (int round = 0; round < 2 * kRounds; ++round) {
    std::vector<int64_t> indices(static_cast<size_t>(batch));
    for (int64_t i = 0; i < batch; ++i) indices[i] = (int64_t(round / 2) * batch + i) % train.count;
    train.Batch(indices.data(), batch, images.data(), labels.data());
    const bool use_dense = round % 2 == 1;
    model->set_policy(use_dense ? st::KernelPolicy::kDense : policy);
    st::StepResult result;
    st::Status status = model->TrainStep(images.data(), labels.data(), batch, &result);
    if (!status.ok()) return status;
    for (const st::LayerReport& r : model->Telemetry()) {
      for (int p = 0; p < 3; ++p) {
        if (r.telemetry.ran[p])
          (use_dense ? dense : chosen)[r.name].ms[p].push_back(r.telemetry.ms[p]);
      }
    }
  }
  model->set_policy(policy);
  // One more step with the chosen kernels, so the telemetry shown is theirs.
  std::vector<int64_t> indices(static_cast<size_t>(batch));
  for (int64_t i = 0; i < batch; ++i) indices[i] = i;
  train.Batch(indices.data(), batch, images.data(), labels.data());
  st::StepResult result;
  st::Status status = model->TrainStep(images.data(), labels.data(), batch, &result);
  if (!status.ok()) return status;

  std::printf(
      "\nPer layer (batch %lld, medians of %d steps; speedup = dense kernels' time / this "
      "run's):\n",
      (long long)batch, kRounds);
  std::printf("%-10s %-14s %7s %7s  %-20s  %21s  %s\n", "layer", "kind", "x zero", "dy zero",
              "kernel fwd/bwd_d/bwd_w", "ms fwd/bwd_d/bwd_w", "speedup");
  double total_chosen = 0.0, total_dense = 0.0;
  for (const st::LayerReport& r : model->Telemetry()) {
    const PassTimes& c = chosen[r.name];
    const PassTimes& d = dense[r.name];
    double layer_chosen = 0.0, layer_dense = 0.0;
    char times[64];
    std::snprintf(times, sizeof(times), "%6.2f %6.2f %6.2f", Median(c.ms[0]), Median(c.ms[1]),
                  Median(c.ms[2]));
    for (int p = 0; p < 3; ++p) {
      layer_chosen += Median(c.ms[p]);
      layer_dense += Median(d.ms[p]);
    }
    total_chosen += layer_chosen;
    total_dense += layer_dense;
    std::string kernels = "-";
    if (r.telemetry.is_conv) {
      kernels.clear();
      for (int p = 0; p < 3; ++p) {
        kernels += (p ? "/" : "");
        kernels += r.telemetry.ran[p] ? st::ConvKernelName(r.telemetry.kernel[p]) : "-";
      }
    }
    char speedup[16] = "";
    if (r.telemetry.is_conv && layer_chosen > 0)
      std::snprintf(speedup, sizeof(speedup), "%.2fx", layer_dense / layer_chosen);
    std::printf("%-10s %-14s %7s %7s  %-20s  %21s  %s%s\n", r.name.c_str(), r.kind.c_str(),
                ZerosText(r.telemetry.input_zeros).c_str(),
                ZerosText(r.telemetry.grad_zeros).c_str(), kernels.c_str(), times, speedup,
                r.frozen ? " (frozen)" : "");
  }
  std::printf("all layers: %.2f ms per step with %s kernels, %.2f ms dense (%.2fx)\n", total_chosen,
              dense_only ? "dense" : "the chosen", total_dense,
              total_chosen > 0 ? total_dense / total_chosen : 0.0);
  return st::Status::Ok();
}

void Plot(const std::string& out_dir, const std::vector<std::string>& conv_names) {
  std::string script =
      "set terminal pngcairo size 1200,900 noenhanced\n"
      "set output '" +
      out_dir +
      "/training.png'\n"
      "set datafile separator ','\nset key autotitle columnhead\nset multiplot layout 3,1\n"
      "set xlabel 'step'\nset ylabel 'loss'\nplot '" +
      out_dir +
      "/metrics.csv' using 1:3 with lines title 'training loss'\n"
      "set ylabel 'accuracy'\nset yrange [0.5:1]\nplot '" +
      out_dir +
      "/metrics.csv' using 1:4 with lines title 'training', '' using 1:5 with linespoints pt 7 "
      "title 'test'\n"
      "set key outside right\nset ylabel 'zero fraction'\nset yrange [0:1]\nplot ";
  int column = 7;
  for (size_t i = 0; i < conv_names.size(); ++i, column += 2) {
    script += (i ? ", " : "") + std::string("'") + out_dir +
              "/metrics.csv' using 1:" + std::to_string(column) + " with lines title '" +
              conv_names[i] + " x', '' using 1:" + std::to_string(column + 1) +
              " with lines dt 2 title '" + conv_names[i] + " dy'";
  }
  script += "\nunset multiplot\n";
  FILE* gnuplot = popen("gnuplot 2>/dev/null", "w");
  if (gnuplot == nullptr) return;
  std::fputs(script.c_str(), gnuplot);
  if (pclose(gnuplot) == 0) {
    std::printf("plot: %s/training.png\n", out_dir.c_str());
  } else {
    std::printf("plot: skipped (gnuplot not available)\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseOptions(argc, argv, &o)) return 2;
  st::Isa isa;
  st::Status status = st::ParseIsa(o.isa, &isa);
  if (status.ok()) status = st::SelectIsa(isa);
  if (!status.ok()) return Fail(status);

  st::ImageDataset train, test;
  status = st::LoadIdxDataset(o.data_dir + "/train-images-idx3-ubyte.gz",
                              o.data_dir + "/train-labels-idx1-ubyte.gz", &train);
  if (status.ok()) {
    status = st::LoadIdxDataset(o.data_dir + "/t10k-images-idx3-ubyte.gz",
                                o.data_dir + "/t10k-labels-idx1-ubyte.gz", &test);
  }
  if (!status.ok()) return Fail(status);
  if (o.train_limit > 0) train.count = std::min(train.count, o.train_limit);
  // Training memory is measured from here: the peak so far (loading) is reset.
  std::ofstream("/proc/self/clear_refs") << "5";
  const double base_rss_mib = ResidentMiB("VmRSS:");

  std::unique_ptr<st::Model> model;
  st::ModelBuilder builder(1, 28, 28);
  if (!st::FashionMnistNetwork(o.model, &builder)) {
    return Fail(
        st::InvalidArgument("unknown model '" + o.model + "' (cnn, mobilenet_v2, resnet18)"));
  }
  status = builder.Build(o.seed, &model);
  if (!status.ok()) return Fail(status);
  std::unique_ptr<st::ThreadPool> threads;
  status = st::ThreadPool::Create(
      st::ThreadCountFor(int(o.threads), /*exact=*/false, st::AvailableCpus()), &threads);
  if (!status.ok()) return Fail(status);
  pthreadpool_t pool = threads->get();
  model->set_pool(pool);
  model->set_policy(o.dense_only ? st::KernelPolicy::kDense : st::KernelPolicy::kAuto);
  const int64_t steps_per_epoch = (train.count + o.batch - 1) / o.batch;
  st::OptimizerConfig config;
  config.kind = o.optimizer == "sgd"     ? st::OptimizerKind::kSgd
                : o.optimizer == "adamw" ? st::OptimizerKind::kAdamW
                                         : st::OptimizerKind::kAdam;
  if (o.optimizer != "sgd" && o.optimizer != "adam" && o.optimizer != "adamw") {
    return Fail(st::InvalidArgument("unknown optimizer '" + o.optimizer + "'"));
  }
  config.lr = o.lr;
  config.schedule.kind = st::ScheduleKind::kCosine;
  config.schedule.total_steps = o.epochs * steps_per_epoch;
  config.schedule.warmup_steps = std::min<int64_t>(100, steps_per_epoch);
  status = model->SetOptimizer(config);
  if (!status.ok()) return Fail(status);
  if (!o.init_from.empty()) {
    status = model->LoadCheckpoint(o.init_from);
    if (!status.ok()) return Fail(status);
    std::printf("initialised from %s\n", o.init_from.c_str());
  }
  std::stringstream freeze(o.freeze);
  for (std::string name; std::getline(freeze, name, ',');) {
    if (name.empty()) continue;
    status = model->SetFrozen(name, true);
    if (!status.ok()) return Fail(status);
  }

  std::string mkdir = "mkdir -p '" + o.out_dir + "'";
  if (std::system(mkdir.c_str()) != 0)
    return Fail(st::Status(st::StatusCode::kIoError, "cannot create " + o.out_dir));
  std::ofstream metrics(o.out_dir + "/metrics.csv");
  std::vector<std::string> conv_names;
  for (const st::LayerReport& r : model->Telemetry()) {
    if (r.kind == "conv2d") conv_names.push_back(r.name);
  }
  metrics << "step,epoch,loss,train_accuracy,test_accuracy,images_per_s";
  for (const std::string& name : conv_names)
    metrics << "," << name << "_x_zeros," << name << "_dy_zeros";
  metrics << "\n";
  // One row of metrics.csv; test_accuracy is empty between epochs.
  const auto write_row = [&](int64_t epoch, double loss, double accuracy,
                             const std::string& test_accuracy, double rate,
                             const std::string& conv_zeros) {
    metrics << model->steps() << "," << epoch << "," << loss << "," << accuracy << ","
            << test_accuracy << "," << rate << conv_zeros << "\n";
  };

  std::printf(
      "Fashion-MNIST: %lld training and %lld test images; %lld epochs of %lld steps, batch %lld, "
      "%lld threads, ISA %s, %s kernels\n",
      (long long)train.count, (long long)test.count, (long long)o.epochs,
      (long long)steps_per_epoch, (long long)o.batch, (long long)threads->threads(),
      st::IsaName(st::ActiveIsa()), o.dense_only ? "dense" : "dense/sparse (chosen per layer)");

  std::vector<float> images(size_t(o.batch * train.height * train.width));
  std::vector<int32_t> labels(static_cast<size_t>(o.batch));
  st::Random order_random(o.seed);
  double train_seconds = 0.0, test_accuracy = 0.0;
  int64_t images_seen = 0;
  for (int64_t epoch = 1; epoch <= o.epochs; ++epoch) {
    const std::vector<int64_t> order = order_random.Permutation(train.count);
    double window_loss = 0.0, window_correct = 0.0, window_examples = 0.0;
    const auto epoch_start = Clock::now();
    for (int64_t step = 0; step < steps_per_epoch; ++step) {
      const int64_t start = step * o.batch, n = std::min(o.batch, train.count - start);
      train.Batch(order.data() + start, n, images.data(), labels.data());
      st::StepResult result;
      status = model->TrainStep(images.data(), labels.data(), n, &result);
      if (!status.ok()) return Fail(status);
      images_seen += n;
      window_loss += result.loss * double(n);
      window_correct += double(result.correct);
      window_examples += double(n);
      const bool last = step + 1 == steps_per_epoch;
      if ((step + 1) % 50 == 0 || last) {
        const double elapsed = std::chrono::duration<double>(Clock::now() - epoch_start).count();
        const double rate = double(std::min(train.count, (step + 1) * o.batch)) / elapsed;
        const double remaining_images = double((o.epochs - epoch) * train.count + train.count -
                                               std::min(train.count, (step + 1) * o.batch));
        ProgressBar(epoch, o.epochs, step + 1, steps_per_epoch, window_loss / window_examples,
                    window_correct / window_examples, rate, remaining_images / rate);
        if (!last) {
          write_row(epoch, window_loss / window_examples, window_correct / window_examples, "",
                    rate, ConvZeros(*model));
          window_loss = window_correct = window_examples = 0.0;
        }
      }
    }
    const double epoch_seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
    train_seconds += epoch_seconds;
    const std::string train_zeros = ConvZeros(*model);  // evaluation replaces the telemetry
    status = Evaluate(model.get(), test, o.batch, &test_accuracy);
    if (!status.ok()) return Fail(status);
    std::fprintf(stderr, "\n");
    std::printf("epoch %lld: %.1f s, %.0f images/s, test accuracy %.4f\n", (long long)epoch,
                epoch_seconds, double(train.count) / epoch_seconds, test_accuracy);
    write_row(epoch, window_loss / std::max(1.0, window_examples),
              window_correct / std::max(1.0, window_examples), std::to_string(test_accuracy),
              double(train.count) / epoch_seconds, train_zeros);
  }
  metrics.close();
  const double images_per_s = double(images_seen) / train_seconds;

  const std::string checkpoint = o.out_dir + "/model.safetensors";
  status = model->SaveCheckpoint(checkpoint);
  if (!status.ok()) return Fail(status);
  std::printf("checkpoint: %s\nmetrics: %s/metrics.csv\n", checkpoint.c_str(), o.out_dir.c_str());

  const st::MemoryFootprint m = model->Memory();
  const double mib = 1024.0 * 1024.0;
  const double needed = double(m.parameter_bytes + m.gradient_bytes + m.optimizer_bytes +
                               m.activation_bytes + m.activation_gradient_bytes) /
                        mib;
  const double used = ResidentMiB("VmHWM:") - base_rss_mib;
  std::printf(
      "memory: training peak %.1f MiB above the loaded dataset (%.1f MiB resident at most); "
      "weights %.2f + gradients %.2f + optimizer %.2f + activations %.1f + their gradients %.1f "
      "(planned) = %.1f MiB (%.2fx), workspace %.1f MiB\n",
      used, ResidentMiB("VmHWM:"), m.parameter_bytes / mib, m.gradient_bytes / mib,
      m.optimizer_bytes / mib, m.activation_bytes / mib, m.activation_gradient_bytes / mib, needed,
      used / needed, m.workspace_bytes / mib);

  status = PrintLayerTable(model.get(), train, o.batch, o.dense_only);
  if (!status.ok()) return Fail(status);
  Plot(o.out_dir, conv_names);
  std::printf("RESULT test_accuracy=%.4f images_per_s=%.1f epochs=%lld\n", test_accuracy,
              images_per_s, (long long)o.epochs);
  return 0;
}
