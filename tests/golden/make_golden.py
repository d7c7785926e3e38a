#!/usr/bin/python3
"""Writes the PyTorch golden files that tests/pytorch_golden_test.cc checks the runtime against.

    /usr/bin/python3 tests/golden/make_golden.py   # (Debian's python3-torch) from the repository root; rewrites tests/golden/*.safetensors

Two tiny CNNs, each in a file with its initial parameters and buffers (named as in the state_dict,
which is also how the runtime names its layers), an input batch and labels, and what PyTorch
computes from them in training mode: logits, loss and every gradient ("grad.<name>"); then the
parameters and buffers after optimiser steps ("after.<name>") and the evaluation-mode logits after
them ("eval_logits"). Convolutions feeding batch norm have no bias: its gradient is zero up to
rounding, which no relative tolerance can compare.
  vgg:    conv (stride 1, pad 1) + BatchNorm + ReLU + 2x2 max pool, conv (stride 2) + ReLU +
          3x3/2 max pool (pad 1), flatten, linear; one SGD step (momentum, Nesterov off, decay).
  resnet: conv + BatchNorm + ReLU, a residual block with a strided body and a 1x1 conv + BN
          shortcut, an identity residual block, global average pooling, linear; two SGD steps
          (momentum, Nesterov, decay).
Adam is left to tests/layer_kernels_test.cc (its formula, exactly): it divides each gradient by
its own magnitude, so rounding-level differences in tiny gradients become lr-sized steps that no
tolerance on the parameters separates from a bug.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
from checkpoint_convert import write_safetensors  # noqa: E402


class Vgg(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 17, 3, stride=2, padding=1)
        self.fc1 = nn.Linear(17 * 2 * 2, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2, 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 3, 2, padding=1)
        return self.fc1(torch.flatten(x, 1))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 20, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(20)
        self.conv3 = nn.Conv2d(20, 20, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(20)
        self.conv4 = nn.Conv2d(16, 20, 1, stride=2, bias=False)
        self.bn4 = nn.BatchNorm2d(20)
        self.conv5 = nn.Conv2d(20, 20, 3, padding=1)
        self.fc1 = nn.Linear(20, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        body = self.bn3(self.conv3(F.relu(self.bn2(self.conv2(x)))))
        x = F.relu(body + self.bn4(self.conv4(x)))
        x = F.relu(self.conv5(x) + x)
        return self.fc1(F.adaptive_avg_pool2d(x, 1).flatten(1))


def float_state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()
            if v.is_floating_point()}


def make(path, model, x, labels, make_optimizer, steps):
    # Non-trivial batch-norm affine parameters and running statistics.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.8, 1.2)
    out = dict(float_state(model))
    out["input"] = x.numpy()
    out["labels"] = labels.numpy().astype(np.float32)
    model.train()
    logits = model(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    out["logits"] = logits.detach().numpy()
    out["loss"] = np.array([loss.item()], dtype=np.float32)
    for name, p in model.named_parameters():
        out["grad." + name] = p.grad.numpy().copy()
    optimizer = make_optimizer(model.parameters())
    optimizer.step()
    for _ in range(steps - 1):
        optimizer.zero_grad()
        F.cross_entropy(model(x), labels).backward()
        optimizer.step()
    for name, value in float_state(model).items():
        out["after." + name] = value
    model.eval()
    with torch.no_grad():
        out["eval_logits"] = model(x).numpy()
    write_safetensors(path, out, {"steps": steps})


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    torch.manual_seed(20261127)
    x = torch.randn(2, 3, 16, 16)
    make(os.path.join(here, "vgg.safetensors"), Vgg(), x, torch.tensor([3, 7]),
         lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-4), steps=1)
    x = torch.randn(3, 1, 9, 9)
    make(os.path.join(here, "resnet.safetensors"), ResNet(), x, torch.tensor([0, 9, 4]),
         lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
         steps=2)


if __name__ == "__main__":
    main()
