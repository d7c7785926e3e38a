// Importing ONNX models (what torch.onnx.export writes for CNN classifiers) into a ModelBuilder.
//
// The result is a model under construction: its layers hold the file's trained parameters, so
// Build initialises only what the caller adds afterwards (a new classifier head, say). Layers
// are named as PyTorch's modules: after their weight's initializer with ".weight" taken off when
// it has that form (a training-mode export names initializers by state_dict key:
// "layer1.0.conv1"), else after the module path in the node's scope ("/layer1/layer1.0/relu/Relu":
// "layer1.0.relu"), else after the node; parameters and buffers keep their initializer names.
// docs/onnx.md lists the operators and how they map.
#ifndef SPARSETRAIN_RUNTIME_ONNX_IMPORT_H_
#define SPARSETRAIN_RUNTIME_ONNX_IMPORT_H_

#include <cstddef>
#include <memory>
#include <string>

#include "runtime/model_builder.h"

namespace sparsetrain {

struct OnnxImportOptions {
  // A tensor (or node) name: import the graph up to it and continue building from there. Empty:
  // the whole graph, up to its output.
  std::string cut_at;
};

// Reads the serialized ModelProto in data[0, bytes). Errors name the node and its op: an op or
// attribute outside the supported set is kUnsupported, a malformed file kCorruptData, shapes
// that do not fit kShapeMismatch; *builder is then left as it was. Parsing scratch comes from
// `allocator`, as does everything the builder allocates.
Status ImportOnnx(const void* data, size_t bytes, const OnnxImportOptions& options,
                  const Allocator& allocator, std::unique_ptr<ModelBuilder>* builder);
// The same for the file at `path` (kIoError when it cannot be read).
Status ImportOnnxFile(const std::string& path, const OnnxImportOptions& options,
                      const Allocator& allocator, std::unique_ptr<ModelBuilder>* builder);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_ONNX_IMPORT_H_
