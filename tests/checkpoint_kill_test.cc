// Saves survive being killed: a child process trains and saves a checkpoint after every step,
// over and over, and is killed (SIGKILL) at a random moment, many times. After each kill the
// file must load, and hold exactly the state of the step it names: the parent replays the same
// deterministic training and compares every parameter, buffer and optimiser value bit for bit.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "runtime/model_builder.h"

namespace sparsetrain {
namespace {

std::unique_ptr<Model> Network() {
  ModelBuilder b(1, 12, 12);
  b.Conv2d(8, 3).BatchNorm().Relu().MaxPool(2, 2).Conv2d(16, 3, 2).Relu().Flatten().Linear(5);
  std::unique_ptr<Model> model;
  EXPECT_TRUE(b.Build(1, &model).ok());
  model->set_policy(KernelPolicy::kDense);  // bit-exact repeatability
  return model;
}

struct Batch {
  std::vector<float> images;
  std::vector<int32_t> labels;
};

Batch Data() {
  Batch batch{std::vector<float>(16 * 144), std::vector<int32_t>(16)};
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  for (float& v : batch.images) v = uniform(rng);
  for (size_t i = 0; i < batch.labels.size(); ++i) batch.labels[i] = int32_t(i % 5);
  return batch;
}

// Everything a checkpoint holds, in one comparable list.
std::vector<std::vector<float>> State(const Model& model) {
  std::string bytes;
  EXPECT_TRUE(model.SaveCheckpoint(&bytes).ok());
  SafetensorsFile file;
  EXPECT_TRUE(DecodeSafetensors(bytes.data(), bytes.size(), "state", &file).ok());
  std::vector<std::vector<float>> state;
  for (NamedTensor& t : file.tensors) state.push_back(std::move(t.data));
  return state;
}

// The child: from the checkpoint at `path`, train and save after every step until killed.
[[noreturn]] void TrainAndSaveForever(const std::string& path, const Batch& batch) {
  std::unique_ptr<Model> model = Network();
  if (!model->LoadCheckpoint(path).ok()) _exit(2);
  for (;;) {
    StepResult result;
    if (!model->TrainStep(batch.images.data(), batch.labels.data(), 16, &result).ok()) _exit(3);
    if (!model->SaveCheckpoint(path).ok()) _exit(4);
  }
}

TEST(CheckpointKillTest, EveryKilledSaveLeavesACompleteCheckpoint) {
  const std::string path = testing::TempDir() + "killed.safetensors";
  const Batch batch = Data();
  std::unique_ptr<Model> replay = Network();  // the same training, uninterrupted
  ASSERT_TRUE(replay->SaveCheckpoint(path).ok());
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> delay_us(200, 20000);
  int64_t last_step = 0;
  for (int round = 0; round < 100; ++round) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) TrainAndSaveForever(path, batch);
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int wait_status = 0;
    ASSERT_EQ(waitpid(child, &wait_status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(wait_status))
        << "the child stopped by itself: " << WEXITSTATUS(wait_status);

    std::unique_ptr<Model> loaded = Network();
    Status status = loaded->LoadCheckpoint(path);
    ASSERT_TRUE(status.ok()) << "after kill " << round << ": " << status.message();
    ASSERT_GE(loaded->steps(), last_step);
    last_step = loaded->steps();
    while (replay->steps() < last_step) {
      StepResult result;
      ASSERT_TRUE(replay->TrainStep(batch.images.data(), batch.labels.data(), 16, &result).ok());
    }
    ASSERT_TRUE(State(*loaded) == State(*replay))
        << "after kill " << round << ", step " << last_step;
  }
  EXPECT_GT(last_step, 100);  // the kills came mid-training, not before it began
  // The data is written into an unnamed file, so a kill mid-write leaves nothing behind but, in
  // the moment between naming it and renaming it, a temporary file, which the next save removes:
  // only the last child's can be left.
  int leftovers = 0;
  const std::string prefix = "killed.safetensors.tmp.";
  DIR* dir = opendir(testing::TempDir().c_str());
  ASSERT_NE(dir, nullptr);
  while (const dirent* entry = readdir(dir))
    leftovers += prefix.compare(0, prefix.size(), entry->d_name, prefix.size()) == 0;
  closedir(dir);
  std::printf("%lld steps saved over 100 kills; %d temporary files left behind\n",
              static_cast<long long>(last_step), leftovers);
  EXPECT_LE(leftovers, 1);
}

}  // namespace
}  // namespace sparsetrain
