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
close to float64 as that. PyTorch's float32 is one sample of that rounding, though: another float32
implementation sums in another order, and a ReLU input within rounding of zero may land on the
other side for it. So step 0 also comes with "flip.grad.<key>": per output channel (a tensor's
first axis), the most its gradient moves in float64 when ReLU decisions within ten times that
layer's float32 deviation of zero take the other side - all of them, and random halves of them.
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
FLIP_SAMPLES = 4  # sets of inverted ReLU decisions: all those near zero, then random halves


def flatten_tensor_name(path):
    """The output of the export's Flatten: the pooled features every one of these models has."""
    for node in onnx.load(path).graph.node:
        if node.op_type == "Flatten":
            return node.output[0]
    raise ValueError(f"{path} has no Flatten")


class ReluCalls:
    """Each call of a model's ReLU modules (made out of place), in call order: its input and output.
    Where `invert` maps a call's index to a 0/1 mask, the call's gradient is inverted there (passed
    where the input is <= 0, blocked where > 0) while its forward values stay as they are."""

    def __init__(self, model):
        self.calls, self.invert = [], {}
        for module in model.modules():
            if isinstance(module, torch.nn.ReLU):
                module.inplace = False
                module.register_forward_hook(self._hook)

    def _hook(self, _, inputs, output):
        z = inputs[0]
        mask = self.invert.get(len(self.calls))
        if mask is not None:  # z - z.detach() is zero forward and passes dy backward
            output = output + (z - z.detach()) * mask * (1 - 2 * (z.detach() > 0).to(z.dtype))
        self.calls.append((z.detach(), output))
        return output


def flip_deviations(exact, x, labels):
    """Per parameter and output channel, how far step 0's float64 gradients move when ReLU
    decisions near zero (within ten times the float32 deviation of their layer's input) invert."""
    probe, rounded = copy.deepcopy(exact), copy.deepcopy(exact).float()
    probe_calls, rounded_calls = ReluCalls(probe), ReluCalls(rounded)
    rounded.train()
    with torch.no_grad():
        rounded(x)

    def gradients(invert):
        probe_calls.calls, probe_calls.invert = [], invert
        probe.train()
        probe.zero_grad()
        F.cross_entropy(probe(x.double()), labels).backward()
        return {k: p.grad.clone() for k, p in probe.named_parameters()}

    exact_grads = gradients({})
    if not probe_calls.calls:  # no nn.ReLU (mobilenet_v2's are ReLU6): nothing to invert
        return {}
    near_zero = {}
    for i, ((z, _), (z32, _)) in enumerate(zip(probe_calls.calls, rounded_calls.calls)):
        near_zero[i] = (z.abs() < 10 * (z32.double() - z).abs().max()).double()
    halves = torch.Generator().manual_seed(2)
    deviation = {k: torch.zeros(g.shape[0], dtype=g.dtype) for k, g in exact_grads.items()}
    for sample in range(FLIP_SAMPLES):
        invert = {i: m if sample == 0 else m * torch.randint(0, 2, m.shape, generator=halves)
                  for i, m in near_zero.items()}
        for k, g in gradients(invert).items():
            moved = (g - exact_grads[k]).abs().reshape(g.shape[0], -1).amax(1)
            deviation[k] = torch.maximum(deviation[k], moved)
    return deviation


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
    for k, moved in flip_deviations(exact, x, labels).items():
        tensors["flip.grad." + k] = moved
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
