// Verbose mode: one line per convolution pass on stderr (which layer, pass, kernel, ISA, zero
// fraction, time), like oneDNN's ONEDNN_VERBOSE. Off by default; process-wide.
#ifndef SPARSETRAIN_RUNTIME_VERBOSE_H_
#define SPARSETRAIN_RUNTIME_VERBOSE_H_

#include <string>

#include "kernels/conv_choice.h"

namespace sparsetrain {

void SetVerbose(int level);
bool Verbose();

// "sparsetrain,conv,<layer>,<pass>,<kernel>,<isa>,zeros=<f>,ms=<t>".
void LogConvPass(const std::string& layer, Pass pass, ConvKernel kernel, double zeros, double ms);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_VERBOSE_H_
