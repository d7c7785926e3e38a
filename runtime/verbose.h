// Verbose mode, like oneDNN's ONEDNN_VERBOSE: one line per layer pass on stderr,
//   sparsetrain,<kind>,<layer>,<pass>,<problem>,<kernel>,<target>,zeros=<f>,ms=<t>
// <problem> is a convolution's problem descriptor (kernels/conv_shape.h) or, for other layers,
// NxCxHxW of the tensor the pass wrote; <kernel> is dense or sparse for convolutions (sparse-x
// for a backward-by-weights pass that skipped x's zeros rather than dy's), "-" for other layers;
// <target> the Highway target the pass's last kernel ran on; zeros the fraction of zeros in the
// operand a convolution's sparse kernel skips, or in what another layer wrote when it counted them
// ("-" when not known). Level 2 adds, after each convolution pass, the reasoning of its kernel
// choice:
//   sparsetrain,choice,<layer>,<pass>,<basis>,predicted=<r>,correction=<c>,dense_ms=<t>,sparse_ms=<t>
// Off by default; process-wide (st_set_verbose, SPARSETRAIN_VERBOSE).
#ifndef SPARSETRAIN_RUNTIME_VERBOSE_H_
#define SPARSETRAIN_RUNTIME_VERBOSE_H_

#include <string>

#include "kernels/base/pass.h"
#include "kernels/conv_choice.h"

namespace sparsetrain {

// The level: SetVerbose's, else SPARSETRAIN_VERBOSE's (read once), else 0.
void SetVerbose(int level);
int VerboseLevel();
inline bool Verbose() { return VerboseLevel() > 0; }

// One pass line; zeros < 0 prints "-". `kernel` is null for layers without a kernel choice.
void LogPass(const char* kind, const std::string& layer, Pass pass, const std::string& problem,
             const char* kernel, double zeros, double ms);
// The level-2 line of a convolution pass's kernel choice.
void LogChoice(const std::string& layer, Pass pass, const ChoiceReason& reason);

}  // namespace sparsetrain

#endif  // SPARSETRAIN_RUNTIME_VERBOSE_H_
