// Image classification datasets in the IDX format of MNIST and Fashion-MNIST (gzip-compressed or
// not): 8-bit images and their labels, kept as bytes and converted batch by batch.
#ifndef SPARSETRAIN_RUNTIME_IDX_DATASET_H_
#define SPARSETRAIN_RUNTIME_IDX_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/base/status.h"

namespace sparsetrain {

struct ImageDataset {
  int64_t count = 0, height = 0, width = 0;
  std::vector<uint8_t> pixels;  // count x height x width
  std::vector<int32_t> labels;  // count

  // Writes the images indices[0..batch) as NCHW floats (one channel) scaled to [0, 1] (a black
  // pixel stays exactly zero), and their labels.
  void Batch(const int64_t* indices, int64_t batch, float* images, int32_t* batch_labels) const;
};

// Reads an IDX image file (magic 0x00000803) and its label file (0x00000801); kIoError when a file
// cannot be read, kCorruptData when its header or length is wrong or the counts differ.
Status LoadIdxDataset(const std::string& images_path, const std::string& labels_path,
                      ImageDataset* dataset);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_IDX_DATASET_H_
