// Test entry point: applies SPARSETRAIN_ISA before tests are registered, so per-target suites
// only cover the ISAs it allows, and says which ISA the run uses.
#include <gtest/gtest.h>

#include <cstdio>

#include "kernels/isa.h"

int main(int argc, char** argv) {
  const sparsetrain::Status status = sparsetrain::SelectIsaFromEnvironment();
  if (!status.ok()) {
    std::fprintf(stderr, "%s\n", status.message().c_str());
    return 2;
  }
  std::printf("ISA in use: %s\n", sparsetrain::IsaName(sparsetrain::ActiveIsa()));
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
