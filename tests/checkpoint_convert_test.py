#!/usr/bin/python3
"""tools/checkpoint_convert.py: a PyTorch state_dict survives the trip to a SparseTrain checkpoint
and back (integer buffers dropped), and the safetensors it writes has the documented layout."""
import json
import os
import struct
import sys
import tempfile

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import checkpoint_convert  # noqa: E402


def main():
    torch.manual_seed(0)
    model = torch.nn.Sequential()
    model.add_module("conv1", torch.nn.Conv2d(3, 8, 3))
    model.add_module("bn1", torch.nn.BatchNorm2d(8))
    model.add_module("fc1", torch.nn.Linear(8, 4))
    with tempfile.TemporaryDirectory() as d:
        pt, st, back = (os.path.join(d, n) for n in ("model.pt", "model.safetensors", "back.pt"))
        torch.save(model.state_dict(), pt)
        assert checkpoint_convert.main(["x", "to-sparsetrain", pt, st]) == 0
        with open(st, "rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(length))
        assert header["conv1.weight"]["dtype"] == "F32"
        assert header["conv1.weight"]["shape"] == [8, 3, 3, 3]
        assert "bn1.num_batches_tracked" not in header
        assert checkpoint_convert.main(["x", "to-pytorch", st, back]) == 0
        restored = torch.load(back)
        original = {k: v for k, v in model.state_dict().items() if v.is_floating_point()}
        assert restored.keys() == original.keys(), (restored.keys(), original.keys())
        for name, value in original.items():
            assert torch.equal(restored[name], value), name
    print("ok")


if __name__ == "__main__":
    main()
