#!/usr/bin/python3
"""Writes the PyTorch golden files that tests/pytorch_golden_test.cc checks the runtime against.

    /usr/bin/python3 tests/golden/make_golden.py   # (Debian's python3-torch) from the repository root; rewrites tests/golden/*.safetensors

Tiny CNNs, each in a file with its initial parameters and buffers (named as in the state_dict,
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
  mobilenet, fire, bottleneck, grouped: the classes below (inverted residual blocks with depthwise
          convolutions, ReLU6, squeeze-and-excitation, hard swish, ceil-mode average pooling; a
          SqueezeNet fire module's concatenation; a ResNet bottleneck; grouped convolutions); two
          SGD steps.
  loss_*: one small network under each loss (cross-entropy with label smoothing and class
          weights, MSE, L1, BCE with logits); the metadata names the loss and its settings, and
          the losses of float targets store them as "targets".
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


def conv_bn(cin, cout, kernel, stride=1, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout))


class MobileNet(nn.Module):
    """A stem, two MobileNetV2 inverted residual blocks (stride 1 with its residual, stride 2
    without) with hard swish between them, a squeeze-and-excitation gate (hard sigmoid, as MobileNetV3's), hard swish and
    average pooling in ceil mode that leaves padding out of its divisor."""

    def __init__(self):
        super().__init__()
        self.stem = conv_bn(3, 16, 3)
        self.b1_expand = conv_bn(16, 48, 1)
        self.b1_dw = conv_bn(48, 48, 3, groups=48)
        self.b1_project = conv_bn(48, 16, 1)
        self.b2_expand = conv_bn(16, 48, 1)
        self.b2_dw = conv_bn(48, 48, 3, stride=2, groups=48)
        self.b2_project = conv_bn(48, 24, 1)
        self.se_reduce = nn.Conv2d(24, 8, 1)
        self.se_expand = nn.Conv2d(8, 24, 1)
        self.fc = nn.Linear(24 * 4 * 4, 10)

    def forward(self, x):
        x = F.relu6(self.stem(x))
        x = x + self.b1_project(F.relu6(self.b1_dw(F.relu6(self.b1_expand(x)))))
        # A nonlinearity between the blocks: straight into the next expansion's convolution and
        # batch norm, b1_project's bias would have a gradient of exactly zero (the batch norm
        # removes any per-channel shift), which only rounding noise would stand for.
        x = F.hardswish(x)
        x = self.b2_project(F.relu6(self.b2_dw(F.relu6(self.b2_expand(x)))))
        gate = F.hardsigmoid(self.se_expand(F.relu(self.se_reduce(F.adaptive_avg_pool2d(x, 1)))))
        x = F.hardswish(x * gate)
        x = F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)
        return self.fc(torch.flatten(x, 1))


class Fire(nn.Module):
    """SqueezeNet: a stem, ceil-mode max pooling, a fire module (squeeze, then 1x1 and 3x3
    expansions concatenated) and its classifier (a 1x1 convolution, ReLU, global pooling)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, stride=2)
        self.squeeze = nn.Conv2d(16, 8, 1)
        self.expand1x1 = nn.Conv2d(8, 12, 1)
        self.expand3x3 = nn.Conv2d(8, 12, 3, padding=1)
        self.classifier = nn.Conv2d(24, 10, 1)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 3, 2, ceil_mode=True)
        s = F.relu(self.squeeze(x))
        x = torch.cat([F.relu(self.expand1x1(s)), F.relu(self.expand3x3(s))], 1)
        return F.relu(self.classifier(x)).mean((2, 3))


class Bottleneck(nn.Module):
    """A ResNet bottleneck block (1x1, 3x3 with the stride, 1x1 expansion, each with batch
    norm) with a projection shortcut, then global pooling and a classifier."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.reduce = conv_bn(16, 8, 1)
        self.conv = conv_bn(8, 8, 3, stride=2)
        self.expand = conv_bn(8, 32, 1)
        self.shortcut = conv_bn(16, 32, 1, stride=2)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        body = self.expand(F.relu(self.conv(F.relu(self.reduce(x)))))
        x = F.relu(body + self.shortcut(x))
        return self.fc(x.mean((2, 3)))


class Grouped(nn.Module):
    """Grouped convolutions as ResNeXt's: 4 groups of 4 into 6 with batch norm, 3 groups of 8
    into 8 at stride 2 with a bias; global pooling and a classifier."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.group1 = nn.Conv2d(16, 24, 3, padding=1, groups=4, bias=False)
        self.bn1 = nn.BatchNorm2d(24)
        self.group2 = nn.Conv2d(24, 24, 1, stride=2, groups=3)
        self.fc = nn.Linear(24, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.bn1(self.group1(x)))
        x = F.relu(self.group2(x))
        return self.fc(x.mean((2, 3)))


class Small(nn.Module):
    """A convolution, SiLU, average pooling and a classifier of four outputs: the network each
    loss is checked on."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 6, 3, padding=1)
        self.fc1 = nn.Linear(6 * 3 * 3, 4)

    def forward(self, x):
        return self.fc1(torch.flatten(F.avg_pool2d(F.silu(self.conv1(x)), 2), 1))


def float_state(model):
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()
            if v.is_floating_point()}


def make(path, model, x, labels, make_optimizer, steps, loss=None, targets=None, settings=None):
    """loss(outputs) is the training loss; cross-entropy of `labels` unless given. A loss of
    float targets stores them as "targets"; the metadata names the loss and its settings."""
    metadata = dict({"steps": steps}, **(settings or {}))
    if loss is None:
        loss = lambda z: F.cross_entropy(z, labels)
        metadata["loss"] = "softmax_cross_entropy"
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
    if targets is not None:
        out["targets"] = targets.numpy()
    model.train()
    logits = model(x)
    value = loss(logits)
    value.backward()
    out["logits"] = logits.detach().numpy()
    out["loss"] = np.array([value.item()], dtype=np.float32)
    for name, p in model.named_parameters():
        out["grad." + name] = p.grad.numpy().copy()
    optimizer = make_optimizer(model.parameters())
    optimizer.step()
    for _ in range(steps - 1):
        optimizer.zero_grad()
        loss(model(x)).backward()
        optimizer.step()
    for name, value in float_state(model).items():
        out["after." + name] = value
    model.eval()
    with torch.no_grad():
        out["eval_logits"] = model(x).numpy()
    write_safetensors(path, out, metadata)


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
    sgd = lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=1e-4)
    x = torch.randn(2, 3, 12, 12)
    make(os.path.join(here, "mobilenet.safetensors"), MobileNet(), x, torch.tensor([1, 8]), sgd,
         steps=2)
    x = torch.randn(2, 3, 19, 19)
    make(os.path.join(here, "fire.safetensors"), Fire(), x, torch.tensor([5, 2]), sgd, steps=2)
    x = torch.randn(2, 3, 10, 10)
    make(os.path.join(here, "bottleneck.safetensors"), Bottleneck(), x, torch.tensor([0, 6]), sgd,
         steps=2)
    # Each loss on one small network, from one initial state.
    x = torch.randn(3, 2, 6, 6)
    labels = torch.tensor([3, 0, 2])
    targets = torch.rand(3, 4)
    weights = torch.tensor([0.5, 2.0, 1.0, 0.25])
    small = Small().state_dict()
    losses = {
        "ce_smoothing_weights": (lambda z: F.cross_entropy(z, labels, weight=weights,
                                                           label_smoothing=0.1),
                                 {"loss": "softmax_cross_entropy", "label_smoothing": 0.1,
                                  "class_weights": "0.5 2 1 0.25"}),
        "mse": (lambda z: F.mse_loss(z, targets), {"loss": "mse"}),
        "l1": (lambda z: F.l1_loss(z, targets), {"loss": "l1"}),
        "bce_with_logits": (lambda z: F.binary_cross_entropy_with_logits(z, targets),
                            {"loss": "bce_with_logits"}),
    }
    for name, (loss, settings) in losses.items():
        model = Small()
        model.load_state_dict(small)
        make(os.path.join(here, "loss_" + name + ".safetensors"), model, x, labels, sgd, steps=2,
             loss=loss, targets=None if name.startswith("ce") else targets, settings=settings)
    x = torch.randn(2, 3, 10, 10)
    make(os.path.join(here, "grouped.safetensors"), Grouped(), x, torch.tensor([4, 1]), sgd,
         steps=2)


if __name__ == "__main__":
    main()
