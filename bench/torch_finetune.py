#!/usr/bin/python3
"""The PyTorch side of tools/bench_finetune.sh: the torchvision model an ONNX file was exported
from, its weights loaded from that file's initializers, a new head, trained on seeded noise.

    torch_finetune.py --model resnet18 --onnx resnet18.onnx [--classes 10] [--batch 32]
                      [--steps 20] [--threads 2] [--frozen 0|1]

Frozen: every parameter but the head's stops training and frozen batch norm runs on its running
statistics (eval mode), as SparseTrain's frozen layers do. Ends with
    RESULT images_per_s=<x> loss=<last>
"""
import argparse
import time

import onnx
import torch
import torch.nn.functional as F
import torchvision
from onnx import numpy_helper


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--onnx", required=True)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frozen", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    graph = onnx.load(args.onnx).graph
    initializers = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy())
                    for t in graph.initializer}
    model = getattr(torchvision.models, args.model)(weights=None, num_classes=10)
    model.load_state_dict({k: initializers.get(k, v) for k, v in model.state_dict().items()})
    model.fc = torch.nn.Linear(model.fc.in_features, args.classes)
    dims = [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim][1:]

    model.train()
    if args.frozen:
        for name, p in model.named_parameters():
            p.requires_grad = name.startswith("fc.")
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eval()
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01,
                                momentum=0.9)
    generator = torch.Generator().manual_seed(7)
    images = torch.randn(args.batch, *dims, generator=generator)
    labels = torch.arange(args.batch) % args.classes

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
    seconds = time.perf_counter() - start
    print(f"RESULT images_per_s={args.steps * args.batch / seconds:.1f} loss={loss:.4f}")


if __name__ == "__main__":
    main()
