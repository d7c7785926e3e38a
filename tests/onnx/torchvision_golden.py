#!/usr/bin/python3
"""Writes torchvision classifiers to ONNX with what PyTorch computes from them, for
tests/onnx_import_test.cc (Bazel runs it: the files are large and made at build time).

    torchvision_golden.py OUT_DIR MODEL...

For each MODEL (seeded, 10 classes, 3x64x64 inputs, dropout probability 0 so that training steps
are deterministic), OUT_DIR/MODEL.onnx is the training-mode export of tools/export_torchvision.py
and OUT_DIR/MODEL_eval.onnx the evaluation-mode one (batch norm folded). OUT_DIR/MODEL.safetensors
holds "input" (a batch of 4) and "labels", "eval_logits" and "features" (the flattened pooled
features; metadata "features_at" names their ONNX tensor) in evaluation mode, and three plain SGD
steps (lr 0.01, cross-entropy) in training mode, each taken from the state the one before left:
"loss<s>" of step s, "grad.<key>" of step 0, "state<s+1>.<key>" every parameter and buffer after
step s, "eval_logits_after" from the last state.

These networks, randomly initialised and fed a few small images, are ill-conditioned: batch norm
over a 2x2 map of a nearly dead channel multiplies rounding errors by up to 1/sqrt(eps), and a
float32 ReLU or max-pool decision may flip. So the training figures are computed in float64 (the
exact answer, for a float32 implementation's purposes), and each comes with "dev.<name>": how far
PyTorch's own float32 computation of the same step, from the same state, lands from it (the
largest element difference). A float32 implementation is as right as one can be when it is as
close to float64 as that.
"""
import copy
import os
import sys

import onnx
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from checkpoint_convert import write_safetensors  # noqa: E402
import export_torchvision  # noqa: E402

SIZE, BATCH, STEPS, LR = 64, 4, 3, 0.01


def flatten_tensor_name(path):
    """The output of the export's Flatten: the pooled features every one of these models has."""
    for node in onnx.load(path).graph.node:
        if node.op_type == "Flatten":
            return node.output[0]
    raise ValueError(f"{path} has no Flatten")


def golden(name, out_dir):
    model = export_torchvision.make_model(name, classes=10, seed=0, dropout=0.0)
    onnx_path = os.path.join(out_dir, name + ".onnx")
    export_torchvision.export(model, onnx_path, SIZE, "train")
    export_torchvision.export(model, os.path.join(out_dir, name + "_eval.onnx"), SIZE, "eval")
    torch.manual_seed(1)
    x = torch.randn(BATCH, 3, SIZE, SIZE)
    labels = torch.tensor([3, 7, 1, 5])
    tensors = {"input": x, "labels": labels.float()}

    model.eval()
    with torch.no_grad():
        tensors["eval_logits"] = model(x)
        if name.startswith("squeezenet"):  # a convolution is its classifier: the features are logits
            tensors["features"] = tensors["eval_logits"]
        else:
            head = getattr(model, "fc", None) or model.classifier
            features = []
            handle = head.register_forward_pre_hook(lambda _, inputs: features.append(inputs[0]))
            model(x)
            handle.remove()
            tensors["features"] = features[0]

    def step(m):
        """One SGD step in training mode: its loss and the gradients."""
        m.train()
        m.zero_grad()
        loss = F.cross_entropy(m(x.to(next(m.parameters()).dtype)), labels)
        loss.backward()
        grads = {k: p.grad.clone() for k, p in m.named_parameters()}
        with torch.no_grad():
            for p in m.parameters():
                p -= LR * p.grad
        return loss.detach(), grads

    def largest_difference(a, b):
        return torch.tensor([(a.double() - b.double()).abs().max().item()])

    def state(m):
        return {k: v.clone() for k, v in m.state_dict().items()
                if not k.endswith("num_batches_tracked")}

    exact = copy.deepcopy(model).double()
    for s in range(STEPS):
        rounded = copy.deepcopy(exact).float()  # PyTorch in float32 from the same state
        loss, grads = step(exact)
        loss32, grads32 = step(rounded)
        tensors[f"loss{s}"], tensors[f"dev.loss{s}"] = loss.reshape(1), largest_difference(loss32, loss)
        if s == 0:
            for k, g in grads.items():
                tensors["grad." + k], tensors["dev.grad." + k] = g, largest_difference(grads32[k], g)
        after, after32 = state(exact), state(rounded)
        for k, v in after.items():
            tensors[f"state{s + 1}.{k}"] = v
            tensors[f"dev.state{s + 1}.{k}"] = largest_difference(after32[k], v)
    rounded = copy.deepcopy(exact).float().eval()
    exact.eval()
    with torch.no_grad():
        logits = exact(x.double())
        tensors["eval_logits_after"] = logits
        tensors["dev.eval_logits_after"] = largest_difference(rounded(x), logits)
    write_safetensors(os.path.join(out_dir, name + ".safetensors"),
                      {k: v.detach().float().contiguous().numpy() for k, v in tensors.items()},
                      {"features_at": flatten_tensor_name(onnx_path), "model": name})


def main():
    torch.set_num_threads(2)
    out_dir = sys.argv[1]
    for name in sys.argv[2:]:
        golden(name, out_dir)


if __name__ == "__main__":
    main()
