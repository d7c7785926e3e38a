#include "runtime/safetensors.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "kernels/base/limits.h"
#include "runtime/atomic_file.h"

namespace sparsetrain {
namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the format and this code are little-endian");

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // the limit the reference implementation uses

Status Corrupt(const std::string& path, const std::string& what) {
  return Status(StatusCode::kCorruptData, "checkpoint '" + path + "': " + what);
}

uint32_t Crc32(const char* bytes, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  size_t done = 0;
  while (done < size) {  // zlib takes 32-bit lengths
    const uInt chunk = uInt(std::min<size_t>(size - done, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes + done), chunk);
    done += chunk;
  }
  return uint32_t(crc);
}

}  // namespace

Status EncodeSafetensors(const SafetensorsFile& file, std::string* bytes) {
  nlohmann::json header = nlohmann::json::object();
  std::vector<char> data;
  for (const NamedTensor& t : file.tensors) {
    int64_t count = 1;
    for (int64_t d : t.shape) count *= d;
    if (t.name.empty() || t.name == "__metadata__" || header.contains(t.name)) {
      return InvalidArgument("checkpoint: tensor name '" + t.name +
                             "' is empty, reserved or repeated");
    }
    if (count != int64_t(t.data.size())) {
      return InvalidArgument("checkpoint: tensor '" + t.name + "' has " +
                             std::to_string(t.data.size()) + " values for its shape");
    }
    const size_t begin = data.size();
    data.resize(begin + t.data.size() * sizeof(float));
    std::memcpy(data.data() + begin, t.data.data(), t.data.size() * sizeof(float));
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
  }
  nlohmann::json metadata(file.metadata);
  metadata["crc32"] = std::to_string(Crc32(data.data(), data.size()));
  header["__metadata__"] = metadata;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8,
              ' ');  // keeps the data 8-byte aligned, as the spec suggests
  const uint64_t length = text.size();
  bytes->clear();
  bytes->reserve(sizeof(length) + text.size() + data.size());
  bytes->append(reinterpret_cast<const char*>(&length), sizeof(length));
  bytes->append(text);
  bytes->append(data.data(), data.size());
  return Status::Ok();
}

Status WriteSafetensors(const std::string& path, const SafetensorsFile& file) {
  std::string bytes;
  Status status = EncodeSafetensors(file, &bytes);
  if (!status.ok()) return status;
  return WriteFileAtomically(path, bytes, "checkpoint");
}

Status ReadSafetensors(const std::string& path, SafetensorsFile* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status(StatusCode::kIoError,
                  "checkpoint '" + path + "': cannot open: " + std::strerror(errno));
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    return Status(StatusCode::kIoError,
                  "checkpoint '" + path + "': cannot read: " + std::strerror(errno));
  }
  return DecodeSafetensors(bytes.data(), bytes.size(), path, out);
}

Status DecodeSafetensors(const void* bytes, size_t size, const std::string& path,
                         SafetensorsFile* out) {
  const char* begin_of_file = static_cast<const char*>(bytes);
  const uint64_t file_size = size;
  uint64_t length = 0;
  if (file_size < 8) return Corrupt(path, "shorter than the 8-byte header length");
  std::memcpy(&length, begin_of_file, 8);
  if (length > kMaxHeaderBytes || length > file_size - 8) {
    return Corrupt(path, "header length " + std::to_string(length) + " exceeds the file (" +
                             std::to_string(file_size) + " bytes)");
  }
  const std::string text(begin_of_file + 8, length);
  const char* data_begin = begin_of_file + 8 + length;
  const uint64_t data_size = file_size - 8 - length;

  const nlohmann::json header = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object())
    return Corrupt(path, "header is not a JSON object");
  SafetensorsFile file;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) return Corrupt(path, "__metadata__ is not an object");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) return Corrupt(path, "metadata '" + key + "' is not a string");
        file.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets") || !entry["dtype"].is_string() ||
        !entry["shape"].is_array() || !entry["data_offsets"].is_array() ||
        entry["data_offsets"].size() != 2) {
      return Corrupt(path, "entry '" + name + "' lacks dtype, shape or data_offsets");
    }
    const std::string dtype = entry["dtype"].get<std::string>();
    if (dtype != "F32") {
      return Status(StatusCode::kUnsupported, "checkpoint '" + path + "': tensor '" + name +
                                                  "' is " + dtype + ", only F32 is read");
    }
    NamedTensor t;
    t.name = name;
    uint64_t count = 1;
    for (const auto& d : entry["shape"]) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() > uint64_t(kMaxTensorElements)) {
        return Corrupt(path, "tensor '" + name + "' has a bad shape");
      }
      t.shape.push_back(d.get<int64_t>());
      count *= d.get<uint64_t>();
      if (count > uint64_t(kMaxTensorElements))
        return Corrupt(path, "tensor '" + name + "' is too large");
    }
    const auto& offsets = entry["data_offsets"];
    if (!offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned()) {
      return Corrupt(path, "tensor '" + name + "' has bad data_offsets");
    }
    const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    if (begin > end || end > data_size || end - begin != count * sizeof(float)) {
      return Corrupt(path, "tensor '" + name + "' data [" + std::to_string(begin) + ", " +
                               std::to_string(end) + ") does not fit its shape or the file");
    }
    ranges.emplace_back(begin, end);
    t.data.resize(count);
    std::memcpy(t.data.data(), data_begin + begin, count * sizeof(float));
    file.tensors.push_back(std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first < ranges[i - 1].second) return Corrupt(path, "tensor data overlaps");
  }
  const auto crc = file.metadata.find("crc32");
  if (crc != file.metadata.end()) {
    if (crc->second != std::to_string(Crc32(data_begin, data_size))) {
      return Corrupt(path, "data checksum mismatch (the file is damaged)");
    }
    file.metadata.erase(crc);
  }
  *out = std::move(file);
  return Status::Ok();
}

}  // namespace sparsetrain
