// Reading and writing the safetensors format: an 8-byte little-endian header length, a JSON
// header mapping each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
// into the data that follows) plus an optional "__metadata__" object of strings, then the raw
// little-endian tensor data. Only float32 ("F32") tensors are read and written. docs/checkpoints.md
// shows how to read and write these files from Python with json and numpy.
#ifndef SPARSETRAIN_RUNTIME_SAFETENSORS_H_
#define SPARSETRAIN_RUNTIME_SAFETENSORS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kernels/base/status.h"

namespace sparsetrain {

struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;  // row-major, product(shape) values
};

struct SafetensorsFile {
  std::map<std::string, std::string> metadata;
  std::vector<NamedTensor> tensors;
};

// Writes atomically: to a temporary file beside `path`, flushed to disk, then renamed over it, so
// `path` holds either the old file or the whole new one. The metadata gains "crc32", a checksum of
// the data section that ReadSafetensors verifies.
Status WriteSafetensors(const std::string& path, const SafetensorsFile& file);

// Reads and validates the whole file (header syntax, dtypes, shapes against offsets, offsets
// inside the data and not overlapping, the checksum when present); kIoError if it cannot be read,
// kCorruptData naming the problem if it is malformed or truncated, kUnsupported for dtypes other
// than F32. `file` is written only on success.
Status ReadSafetensors(const std::string& path, SafetensorsFile* file);

// The same in memory: the bytes WriteSafetensors would write, and reading them back (`what`
// names the buffer in messages).
Status EncodeSafetensors(const SafetensorsFile& file, std::string* bytes);
Status DecodeSafetensors(const void* bytes, size_t size, const std::string& what,
                         SafetensorsFile* file);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_SAFETENSORS_H_
