#!/usr/bin/python3
"""Converts between PyTorch state_dicts and SparseTrain checkpoints (safetensors, float32).

    checkpoint_convert.py to-sparsetrain MODEL.pt OUT.safetensors
    checkpoint_convert.py to-pytorch IN.safetensors OUT.pt

The safetensors reader and writer here need only json and numpy (torch only to load or save .pt
files); docs/checkpoints.md describes the layout. Names are kept as they are, so a PyTorch module
whose submodules are named like the SparseTrain layers ("conv1", "bn1", "fc1", ...) maps one to
one. Integer tensors (BatchNorm's num_batches_tracked) have no SparseTrain counterpart and are
dropped; optimiser state ("optimizer.*") stays on the SparseTrain side.
"""
import json
import struct
import sys

import numpy as np


def read_safetensors(path):
    """Returns ({name: float32 array}, metadata dict)."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, entry in header.items():
        if entry["dtype"] != "F32":
            raise ValueError(f"{name}: dtype {entry['dtype']} is not F32")
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(entry["shape"]).copy()
    return tensors, metadata


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: array} as float32 little-endian, in insertion order."""
    header, chunks, offset = {}, [], 0
    for name, array in tensors.items():
        raw = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(np.shape(array)),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for chunk in chunks:
            f.write(chunk)


def to_sparsetrain(pt_path, out_path):
    import torch
    state = torch.load(pt_path, map_location="cpu")
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    tensors = {}
    for name, value in state.items():
        if not value.is_floating_point():
            print(f"dropping {name} ({value.dtype})", file=sys.stderr)
            continue
        tensors[name] = value.detach().to(torch.float32).numpy()
    write_safetensors(out_path, tensors, {"format": "sparsetrain.checkpoint.v1", "step": 0})


def to_pytorch(st_path, out_path):
    import torch
    tensors, _ = read_safetensors(st_path)
    torch.save({name: torch.from_numpy(array) for name, array in tensors.items()
                if not name.startswith("optimizer.")}, out_path)


def main(argv):
    if len(argv) != 4 or argv[1] not in ("to-sparsetrain", "to-pytorch"):
        print(__doc__, file=sys.stderr)
        return 2
    (to_sparsetrain if argv[1] == "to-sparsetrain" else to_pytorch)(argv[2], argv[3])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
