#!/usr/bin/python3
"""Trains the backbone the fine-tuning examples start from, as a model trained elsewhere would be:
a small CNN trained in PyTorch on Fashion-MNIST classes 0-4, exported to ONNX in the form to
fine-tune from (training mode, state_dict names), plus the same network untrained for training
from scratch.

    /usr/bin/python3 tools/pretrain_backbone.py OUT_DIR [--epochs 3] [--train-limit N] [--seed 0]

Writes OUT_DIR/backbone.onnx (trained) and OUT_DIR/scratch.onnx (PyTorch's default
initialisation from the seed); both are cut at "/Flatten_output_0", the pooled features.
Needs Debian's python3-torch, python3-onnx and dataset-fashion-mnist (tools/bootstrap.sh).
"""
import argparse
import gzip
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import export_torchvision

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(name, header):
    with gzip.open(os.path.join(DATA, name)) as f:
        return np.frombuffer(f.read()[header:], dtype=np.uint8)


def classes_0_to_4(prefix):
    images = read_idx(prefix + "-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)
    labels = read_idx(prefix + "-labels-idx1-ubyte.gz", 8)
    keep = labels < 5
    return torch.from_numpy(images[keep] / np.float32(255)), torch.from_numpy(labels[keep]).long()


class Backbone(nn.Module):
    """Three conv + batch-norm + ReLU stages, global average pooling, a linear head."""

    def __init__(self, classes=5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1, bias=False), nn.BatchNorm2d(128), nn.ReLU())
        self.fc = nn.Linear(128, classes)

    def forward(self, x):
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-limit", type=int, default=0, help="0: every image of classes 0-4")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    torch.set_num_threads(2)
    torch.manual_seed(args.seed)

    scratch = Backbone()
    model = Backbone()
    model.load_state_dict(scratch.state_dict())
    export_torchvision.export(scratch, os.path.join(args.out_dir, "scratch.onnx"), 28, "train",
                              channels=1)

    x, y = classes_0_to_4("train")
    if args.train_limit:
        x, y = x[:args.train_limit], y[:args.train_limit]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(x))
        for start in range(0, len(x), 64):
            batch = order[start:start + 64]
            optimizer.zero_grad()
            F.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
        model.eval()
        test_x, test_y = classes_0_to_4("t10k")
        with torch.no_grad():
            accuracy = (model(test_x).argmax(1) == test_y).float().mean().item()
        print(f"epoch {epoch + 1}: test accuracy on classes 0-4 {accuracy:.4f}")
    export_torchvision.export(model, os.path.join(args.out_dir, "backbone.onnx"), 28, "train",
                              channels=1)
    print(f"wrote {args.out_dir}/backbone.onnx and {args.out_dir}/scratch.onnx")


if __name__ == "__main__":
    main()
