#!/usr/bin/python3
"""Checks this runtime's ONNX export against ONNX and PyTorch (run by tests/onnx/export_check.sh).

    export_check.py DIR MODEL...

DIR/MODEL.onnx was exported from a trained model and DIR/MODEL.safetensors holds the input batch
and that model's evaluation logits (tests/onnx/trained_export.cc). Each file must pass
onnx.checker's full check, and its initializers, loaded by name into the torchvision module of the
same name (every state_dict entry but num_batches_tracked), must give the same logits within 1e-4
of their scale.
"""
import json
import os
import struct
import sys

import numpy as np
import onnx
import torch
import torchvision
from onnx import numpy_helper


def read_safetensors(path):
    data = open(path, "rb").read()
    length = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    return {name: np.frombuffer(body[e["data_offsets"][0]:e["data_offsets"][1]],
                                dtype="<f4").reshape(e["shape"])
            for name, e in header.items() if name != "__metadata__"}


def check(directory, name):
    model = onnx.load(os.path.join(directory, name + ".onnx"))
    onnx.checker.check_model(model, full_check=True)
    initializers = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    module = getattr(torchvision.models, name)(weights=None, num_classes=10)
    state = module.state_dict()
    missing = [k for k in state if not k.endswith("num_batches_tracked") and k not in initializers]
    if missing:
        raise AssertionError(f"{name}: no initializer for {missing[:5]}")
    module.load_state_dict({k: torch.from_numpy(initializers[k].copy()) if k in initializers else v
                            for k, v in state.items()})
    module.eval()
    golden = read_safetensors(os.path.join(directory, name + ".safetensors"))
    with torch.no_grad():
        logits = module(torch.from_numpy(golden["input"].copy())).numpy()
    ours = golden["logits"]
    scale = np.abs(logits).max()
    worst = np.abs(ours - logits).max()
    if worst > 1e-4 * scale:
        raise AssertionError(f"{name}: logits differ by {worst} (scale {scale})")
    print(f"{name}: onnx.checker passes; torchvision logits within {worst / scale:.1e} of scale")


def main():
    for name in sys.argv[2:]:
        check(sys.argv[1], name)


if __name__ == "__main__":
    main()
