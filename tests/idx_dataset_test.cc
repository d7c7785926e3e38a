#include "runtime/idx_dataset.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>
#include <string>
#include <vector>

namespace sparsetrain {
namespace {

std::string Idx(uint32_t magic, const std::vector<uint32_t>& dims,
                const std::vector<uint8_t>& data) {
  std::string bytes;
  for (uint32_t v : std::vector<uint32_t>{magic}) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(char(v >> shift));
  }
  for (uint32_t v : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(char(v >> shift));
  }
  bytes.append(data.begin(), data.end());
  return bytes;
}

std::string WriteFile(const std::string& name, const std::string& bytes, bool gzip) {
  const std::string path = testing::TempDir() + name;
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), unsigned(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(path, std::ios::binary) << bytes;
  }
  return path;
}

TEST(IdxDatasetTest, ReadsCompressedAndPlainFilesAndScalesPixels) {
  const std::vector<uint8_t> pixels = {0, 255, 51, 102, 7, 0, 0, 9};  // two 2x2 images
  for (bool gzip : {true, false}) {
    const std::string images = WriteFile("images", Idx(0x803, {2, 2, 2}, pixels), gzip);
    const std::string labels = WriteFile("labels", Idx(0x801, {2}, {3, 9}), gzip);
    ImageDataset d;
    Status s = LoadIdxDataset(images, labels, &d);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(d.count, 2);
    EXPECT_EQ(d.height, 2);
    EXPECT_EQ(d.width, 2);
    const int64_t order[] = {1, 0};
    std::vector<float> batch(8);
    std::vector<int32_t> batch_labels(2);
    d.Batch(order, 2, batch.data(), batch_labels.data());
    EXPECT_EQ(batch_labels, (std::vector<int32_t>{9, 3}));
    EXPECT_EQ(batch[0], 7.0f / 255.0f);
    EXPECT_EQ(batch[1], 0.0f);  // black stays exactly zero
    EXPECT_EQ(batch[5], 1.0f);
  }
}

TEST(IdxDatasetTest, RefusesMalformedFiles) {
  const std::string images = WriteFile("ok_images", Idx(0x803, {1, 2, 2}, {1, 2, 3, 4}), true);
  const std::string labels = WriteFile("ok_labels", Idx(0x801, {1}, {0}), true);
  const struct {
    std::string images, labels;
    StatusCode code;
  } cases[] = {
      {testing::TempDir() + "absent", labels, StatusCode::kIoError},
      {WriteFile("short", Idx(0x803, {1, 2, 2}, {1, 2, 3}), true), labels,
       StatusCode::kCorruptData},
      {WriteFile("magic", Idx(0x801, {1, 2, 2}, {1, 2, 3, 4}), true), labels,
       StatusCode::kCorruptData},
      {images, WriteFile("count", Idx(0x801, {2}, {0, 1}), true), StatusCode::kCorruptData},
  };
  for (const auto& c : cases) {
    ImageDataset d;
    const Status s = LoadIdxDataset(c.images, c.labels, &d);
    EXPECT_EQ(s.code(), c.code) << c.images << " " << c.labels << ": " << s.message();
    EXPECT_EQ(d.count, 0);
  }
}

}  // namespace
}  // namespace sparsetrain
