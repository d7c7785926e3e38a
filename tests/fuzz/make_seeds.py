#!/usr/bin/python3
"""Writes the fuzzers' seed corpora (tests/fuzz/corpus/): small ONNX models that import, covering
the operators and their attribute forms, and checkpoints of checkpoint_fuzzer.cc's network.
(corpus/capi holds call sequences for capi_fuzzer.c, one that builds, trains, predicts and
saves a model, written by hand; corpus/onnx/regression_* are inputs that once failed.)

    /usr/bin/python3 tests/fuzz/make_seeds.py   # from the repository root
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from checkpoint_convert import write_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
rng = np.random.default_rng(0)


def init(name, *shape):
    return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)


def const(name, values, dtype=np.float32):
    return helper.make_node("Constant", [], [name], name=name,
                            value=numpy_helper.from_array(np.array(values, dtype=dtype)))


def model(nodes, initializers, channels, side, classes, name):
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", channels, side, side])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes])],
        initializers)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(m)
    path = os.path.join(OUT, "onnx", name + ".onnx")
    onnx.save(m, path)


def seeds_onnx():
    os.makedirs(os.path.join(OUT, "onnx"), exist_ok=True)
    n = helper.make_node
    model([n("Conv", ["input", "c.weight", "c.bias"], ["c"], name="/c/Conv", kernel_shape=[3, 3],
             pads=[1, 1, 1, 1], strides=[1, 1]),
           n("BatchNormalization", ["c", "bn.weight", "bn.bias", "bn.running_mean",
                                    "bn.running_var"], ["bn"], name="/bn/BatchNormalization",
             epsilon=1e-5, momentum=0.9),
           n("Relu", ["bn"], ["r"], name="/relu/Relu"),
           n("MaxPool", ["r"], ["p"], name="/pool/MaxPool", kernel_shape=[2, 2], strides=[2, 2],
             ceil_mode=1),
           n("Flatten", ["p"], ["f"], name="/Flatten", axis=1),
           n("Gemm", ["f", "fc.weight", "fc.bias"], ["logits"], name="/fc/Gemm", transB=1)],
          [init("c.weight", 2, 1, 3, 3), init("c.bias", 2), init("bn.weight", 2),
           init("bn.bias", 2), init("bn.running_mean", 2),
           numpy_helper.from_array(np.ones(2, np.float32), "bn.running_var"),
           init("fc.weight", 3, 8), init("fc.bias", 3)], 1, 4, 3, "conv_bn_pool")
    model([n("Conv", ["input", "g.weight"], ["g"], name="/g/Conv", kernel_shape=[3, 3],
             pads=[1, 1, 1, 1], group=2),
           const("lo", 0.0), const("hi", 6.0),
           n("Clip", ["g", "lo", "hi"], ["clip"], name="/clip/Clip"),
           n("HardSigmoid", ["clip"], ["hs"], name="/act/HardSigmoid", alpha=1.0 / 6),
           n("Mul", ["clip", "hs"], ["swish"], name="/act/Mul"),
           n("GlobalAveragePool", ["swish"], ["gap"], name="/se/GlobalAveragePool"),
           n("Conv", ["gap", "se.weight", "se.bias"], ["se"], name="/se/Conv", kernel_shape=[1, 1]),
           n("Sigmoid", ["se"], ["gate"], name="/se/Sigmoid"),
           n("Mul", ["gate", "swish"], ["scaled"], name="/se/Mul"),
           n("Concat", ["scaled", "clip"], ["cat"], name="/cat/Concat", axis=1),
           n("Conv", ["cat", "p.weight"], ["p"], name="/p/Conv", kernel_shape=[1, 1]),
           n("Add", ["p", "input"], ["sum"], name="/Add"),
           n("ReduceMean", ["sum"], ["mean"], name="/ReduceMean", axes=[2, 3], keepdims=1),
           n("Flatten", ["mean"], ["f"], name="/Flatten"),
           n("Dropout", ["f"], ["d"], name="/Dropout"),
           n("Gemm", ["d", "fc.weight"], ["logits"], name="/fc/Gemm")],
          [init("g.weight", 4, 1, 3, 3), init("se.weight", 4, 4, 1, 1), init("se.bias", 4),
           init("p.weight", 2, 8, 1, 1), init("fc.weight", 2, 5)], 2, 6, 5, "branches")
    model([const("pads", [0, 0, 1, 1, 0, 0, 1, 1], np.int64),
           n("Pad", ["input", "pads"], ["padded"], name="/Pad", mode="constant"),
           n("AveragePool", ["padded"], ["a"], name="/AveragePool", kernel_shape=[3, 3],
             strides=[2, 2]),
           n("Identity", ["a"], ["i"], name="/Identity"),
           const("shape", [0, -1], np.int64),
           n("Reshape", ["i", "shape"], ["flat"], name="/Reshape"),
           n("MatMul", ["flat", "w"], ["mm"], name="/fc/MatMul"),
           n("Add", ["mm", "b"], ["logits"], name="/fc/Add")],
          [init("w", 12, 4), init("b", 4)], 3, 4, 4, "pad_pool_matmul")


def seeds_checkpoint():
    os.makedirs(os.path.join(OUT, "checkpoint"), exist_ok=True)
    tensors = {"conv.weight": rng.standard_normal((2, 1, 3, 3)), "conv.bias": rng.standard_normal(2),
               "bn.weight": np.ones(2), "bn.bias": np.zeros(2), "bn.running_mean": np.zeros(2),
               "bn.running_var": np.ones(2), "fc.weight": rng.standard_normal((3, 32)),
               "fc.bias": rng.standard_normal(3)}
    write_safetensors(os.path.join(OUT, "checkpoint", "parameters.safetensors"), tensors,
                      {"format": "sparsetrain.checkpoint.v1", "step": "0"})
    with_adam = dict(tensors)
    for name, value in tensors.items():
        if "running" not in name:
            with_adam[f"optimizer.{name}.exp_avg"] = np.zeros_like(value)
            with_adam[f"optimizer.{name}.exp_avg_sq"] = np.zeros_like(value)
    write_safetensors(os.path.join(OUT, "checkpoint", "with_adam.safetensors"), with_adam,
                      {"format": "sparsetrain.checkpoint.v1", "step": "7", "optimizer": "adam"})


if __name__ == "__main__":
    seeds_onnx()
    seeds_checkpoint()
