#include "bench/layer_list.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace sparsetrain {
namespace {

constexpr const char* kHeader = "net,layer,N,C,H,W,K,R,S,stride,pad,x_sparsity,dy_sparsity";

std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream in(line);
  std::string field;
  while (std::getline(in, field, ',')) fields.push_back(field);
  return fields;
}

bool ParseNumber(const std::string& text, double* value) {
  char* end = nullptr;
  *value = std::strtod(text.c_str(), &end);
  return !text.empty() && end == text.c_str() + text.size();
}

}  // namespace

Status ReadLayerList(const std::string& path, std::vector<LayerSpec>* layers) {
  std::ifstream file(path);
  if (!file) return Status(StatusCode::kIoError, "cannot open layer list '" + path + "'");
  std::string line;
  // Lines may end in CRLF; lines starting with '#' are comments.
  auto next_line = [&] {
    do {
      if (!std::getline(file, line)) return false;
      if (!line.empty() && line.back() == '\r') line.pop_back();
    } while (!line.empty() && line[0] == '#');
    return true;
  };
  if (!next_line() || line != kHeader) {
    return Status(StatusCode::kCorruptData,
                  path + ": first line must be the header '" + std::string(kHeader) + "'");
  }
  std::vector<LayerSpec> result;
  for (int line_no = 2; next_line(); ++line_no) {
    if (line.empty()) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    const std::vector<std::string> f = SplitCsv(line);
    if (f.size() != 13) return Status(StatusCode::kCorruptData, where + ": expected 13 fields");
    double v[11];
    for (int i = 0; i < 11; ++i) {
      if (!ParseNumber(f[i + 2], &v[i])) {
        return Status(StatusCode::kCorruptData, where + ": field " + std::to_string(i + 3) + " ('" +
                                                    f[i + 2] + "') is not a number");
      }
    }
    LayerSpec layer;
    layer.net = f[0];
    layer.name = f[1];
    ConvShape& s = layer.shape;
    s.n = int64_t(v[0]), s.c = int64_t(v[1]), s.h = int64_t(v[2]), s.w = int64_t(v[3]);
    s.k = int64_t(v[4]), s.r = int64_t(v[5]), s.s = int64_t(v[6]);
    s.stride_h = s.stride_w = int64_t(v[7]);
    s.pad_h = s.pad_w = int64_t(v[8]);
    layer.x_sparsity = v[9];
    layer.dy_sparsity = v[10];
    Status status = Validate(s);
    if (!status.ok()) return status.Within(where);
    if (!(v[9] >= 0 && v[9] <= 1 && v[10] >= 0 && v[10] <= 1)) {
      return Status(StatusCode::kCorruptData, where + ": sparsity must be in [0, 1]");
    }
    result.push_back(layer);
  }
  if (result.empty()) return Status(StatusCode::kCorruptData, path + ": no layers");
  *layers = std::move(result);
  return Status::Ok();
}

}  // namespace sparsetrain
