#!/usr/bin/python3
"""PyTorch twin of examples/train_fashion_mnist.cc, for tools/bench_e2e.sh.

Same model (three conv + ReLU + 2x2 max-pool stages, flatten, dropout 0.25, linear), same data
(pixels / 255, no normalisation), same example order (SplitMix64 Fisher-Yates permutations from
the same seed, as runtime/random.h), batch, optimiser (Adam) and schedule (linear warm-up, cosine).
Prints per-epoch test accuracy and ends with
    RESULT images_per_s=<x> test_accuracy=<fraction> epochs=<n>
"""
import argparse
import gzip
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def permutation(self, count):
        order = list(range(count))
        for i in range(count - 1, 0, -1):
            j = self.next() % (i + 1)
            order[i], order[j] = order[j], order[i]
        return order


def load_idx(images_path, labels_path):
    with gzip.open(images_path) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(labels_path) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    return torch.from_numpy(images.astype(np.float32) / 255.0), torch.from_numpy(labels)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.conv3 = nn.Conv2d(64, 128, 3, padding=1)
        self.dropout1 = nn.Dropout(0.25)
        self.fc1 = nn.Linear(128 * 3 * 3, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.max_pool2d(F.relu(self.conv3(x)), 2)
        return self.fc1(self.dropout1(torch.flatten(x, 1)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    d = args.data_dir
    train_x, train_y = load_idx(f"{d}/train-images-idx3-ubyte.gz", f"{d}/train-labels-idx1-ubyte.gz")
    test_x, test_y = load_idx(f"{d}/t10k-images-idx3-ubyte.gz", f"{d}/t10k-labels-idx1-ubyte.gz")

    model = Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = (len(train_x) + args.batch - 1) // args.batch
    total, warmup = args.epochs * steps_per_epoch, min(100, steps_per_epoch)

    def factor(step):  # runtime/optimizer.cc LearningRate: cosine to 0, linear warm-up
        f = 0.5 * (1.0 + math.cos(math.pi * min(1.0, step / total)))
        return f * (step + 1) / warmup if step < warmup else f

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    order_random = SplitMix64(args.seed)
    train_seconds, accuracy = 0.0, 0.0
    for epoch in range(1, args.epochs + 1):
        order = torch.tensor(order_random.permutation(len(train_x)))
        model.train()
        start = time.perf_counter()
        for step in range(steps_per_epoch):
            idx = order[step * args.batch:(step + 1) * args.batch]
            optimizer.zero_grad()
            F.cross_entropy(model(train_x[idx]), train_y[idx]).backward()
            optimizer.step()
            schedule.step()
        seconds = time.perf_counter() - start
        train_seconds += seconds
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(test_x[i:i + 500]).argmax(1) == test_y[i:i + 500]).sum())
                          for i in range(0, len(test_x), 500))
        accuracy = correct / len(test_x)
        print(f"epoch {epoch}: {seconds:.1f} s, {len(train_x) / seconds:.0f} images/s, "
              f"test accuracy {accuracy:.4f}", flush=True)
    print(f"RESULT images_per_s={args.epochs * len(train_x) / train_seconds:.1f} "
          f"test_accuracy={accuracy:.4f} epochs={args.epochs}")


if __name__ == "__main__":
    main()
