#include "runtime/idx_dataset.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>

namespace sparsetrain {
namespace {

// Reads a whole file through zlib, which passes uncompressed files through unchanged.
Status ReadMaybeGzip(const std::string& path, std::vector<uint8_t>* bytes) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) {
    return Status(StatusCode::kIoError, "cannot open '" + path + "': " + std::strerror(errno));
  }
  bytes->clear();
  uint8_t buffer[1 << 16];
  int n = 0;
  while ((n = gzread(file, buffer, sizeof(buffer))) > 0)
    bytes->insert(bytes->end(), buffer, buffer + n);
  int error = Z_OK;
  const char* message = gzerror(file, &error);
  gzclose(file);
  if (n < 0 || (error != Z_OK && error != Z_STREAM_END)) {
    return Status(StatusCode::kCorruptData, "cannot decompress '" + path + "': " + message);
  }
  return Status::Ok();
}

uint32_t BigEndian32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

}  // namespace

void ImageDataset::Batch(const int64_t* indices, int64_t batch, float* images,
                         int32_t* batch_labels) const {
  const int64_t pixels_per_image = height * width;
  for (int64_t i = 0; i < batch; ++i) {
    const uint8_t* src = pixels.data() + indices[i] * pixels_per_image;
    float* dst = images + i * pixels_per_image;
    for (int64_t p = 0; p < pixels_per_image; ++p) dst[p] = float(src[p]) / 255.0f;
    batch_labels[i] = labels[size_t(indices[i])];
  }
}

Status LoadIdxDataset(const std::string& images_path, const std::string& labels_path,
                      ImageDataset* dataset) {
  std::vector<uint8_t> images, labels;
  Status status = ReadMaybeGzip(images_path, &images);
  if (!status.ok()) return status;
  status = ReadMaybeGzip(labels_path, &labels);
  if (!status.ok()) return status;
  if (images.size() < 16 || BigEndian32(images.data()) != 0x803) {
    return Status(StatusCode::kCorruptData, "'" + images_path + "' is not an IDX image file");
  }
  if (labels.size() < 8 || BigEndian32(labels.data()) != 0x801) {
    return Status(StatusCode::kCorruptData, "'" + labels_path + "' is not an IDX label file");
  }
  ImageDataset d;
  d.count = BigEndian32(images.data() + 4);
  d.height = BigEndian32(images.data() + 8);
  d.width = BigEndian32(images.data() + 12);
  if (uint64_t(images.size() - 16) != uint64_t(d.count) * d.height * d.width) {
    return Status(StatusCode::kCorruptData, "'" + images_path + "' is truncated or too long");
  }
  if (BigEndian32(labels.data() + 4) != uint64_t(d.count) ||
      labels.size() - 8 != uint64_t(d.count)) {
    return Status(
        StatusCode::kCorruptData,
        "'" + labels_path + "' does not hold one label per image of '" + images_path + "'");
  }
  d.pixels.assign(images.begin() + 16, images.end());
  d.labels.assign(labels.begin() + 8, labels.end());
  *dataset = std::move(d);
  return Status::Ok();
}

}  // namespace sparsetrain
