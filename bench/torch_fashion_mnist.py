#!/usr/bin/python3
"""PyTorch twin of examples/train_fashion_mnist.cc, for tools/bench_e2e.sh.

Same model (--model: the CNN of three conv + ReLU + 2x2 max-pool stages, flatten, dropout 0.25,
linear; or the MobileNetV2- and ResNet-18-style networks of examples/fashion_mnist_model.h), same data
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


class InvertedResidual(nn.Module):
    def __init__(self, cin, expansion, cout, stride):
        super().__init__()
        hidden = cin * expansion
        layers = []
        if expansion != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
                   nn.BatchNorm2d(hidden), nn.ReLU6(),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


class MobileNetV2(nn.Module):
    """examples/fashion_mnist_model.h's FashionMnistMobileNetV2."""

    def __init__(self):
        super().__init__()
        layers = [nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6()]
        cin = 16
        for expansion, cout, stride in [(1, 16, 1), (4, 24, 2), (4, 24, 1), (4, 32, 2), (4, 32, 1),
                                        (4, 32, 1)]:
            layers.append(InvertedResidual(cin, expansion, cout, stride))
            cin = cout
        layers += [nn.Conv2d(cin, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU6()]
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc(self.dropout(self.features(x).mean((2, 3))))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
                                  nn.BatchNorm2d(cout), nn.ReLU(),
                                  nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        return F.relu(self.body(x) + self.shortcut(x))


class ResNet18(nn.Module):
    """examples/fashion_mnist_model.h's FashionMnistResNet18."""

    def __init__(self):
        super().__init__()
        layers = [nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
        cin = 16
        for stage in range(4):
            cout = 16 << stage
            for block in range(2):
                layers.append(BasicBlock(cin, cout, 2 if stage > 0 and block == 0 else 1))
                cin = cout
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, 10)

    def forward(self, x):
        return self.fc(self.features(x).mean((2, 3)))


NETWORKS = {"cnn": Net, "mobilenet_v2": MobileNetV2, "resnet18": ResNet18}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", choices=sorted(NETWORKS), default="cnn")
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

    model = NETWORKS[args.model]()
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
