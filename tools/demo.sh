#!/usr/bin/env bash
# The main job: trains a small CNN on Fashion-MNIST with the SparseTrain runtime on 2 threads
# (8 epochs, about a minute once built), with a progress bar; prints test accuracy, a per-layer table
# (zero fractions, kernel chosen per pass, time per pass, speedup over dense) and memory use;
# writes fashion_mnist_out/ (checkpoint, metrics CSV, PNG plot). The last line is
#   RESULT test_accuracy=<fraction> images_per_s=<x> epochs=<n>
# Options pass through (see examples/train_fashion_mnist.cc), e.g. tools/demo.sh --epochs 2.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/bootstrap.sh

bazel build -c opt //examples:train_fashion_mnist
bazel-bin/examples/train_fashion_mnist "$@"
