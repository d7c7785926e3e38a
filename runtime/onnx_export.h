// Exporting a model to ONNX in inference form: its trained parameters and batch norm's running
// statistics as initializers under their names (PyTorch's state_dict keys for imported models),
// dropout left out, for ONNX Runtime, PyTorch or this runtime's own import (opset 14).
#ifndef SPARSETRAIN_RUNTIME_ONNX_EXPORT_H_
#define SPARSETRAIN_RUNTIME_ONNX_EXPORT_H_

#include <string>

#include "runtime/model.h"

namespace sparsetrain {

// The serialized ModelProto, input "input" (batch free), output "logits". kUnsupported names
// a layer that ONNX cannot express.
Status ExportOnnx(const Model& model, std::string* bytes);
// The same written atomically to `path`.
Status ExportOnnxFile(const Model& model, const std::string& path);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_ONNX_EXPORT_H_
