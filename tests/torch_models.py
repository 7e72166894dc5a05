"""Small PyTorch models and synthetic data sets for the quantizer tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def shapes(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """12x12 images: a horizontal bar, a vertical bar, a diagonal, a blob; noise, shifts."""
    labels = rng.integers(0, 4, count)
    x = rng.normal(0, 0.15, (count, 1, 12, 12)).astype(np.float32)
    for i, label in enumerate(labels):
        r, c = rng.integers(2, 10, 2)
        if label == 0:
            x[i, 0, r, 1:11] += 1.0
        elif label == 1:
            x[i, 0, 1:11, c] += 1.0
        elif label == 2:
            for k in range(-4, 5):
                if 0 <= r + k < 12 and 0 <= c + k < 12:
                    x[i, 0, r + k, c + k] += 1.0
        else:
            x[i, 0, r - 2:r + 2, c - 2:c + 2] += 1.0
    return x, labels


class CNN(torch.nn.Module):
    """Conv-BN-ReLU6, depthwise (stride 2) with HardTanh, pointwise, average pool, Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1, bias=False),
                                      torch.nn.BatchNorm2d(8), torch.nn.ReLU6())
        self.dw = torch.nn.Sequential(torch.nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8),
                                      torch.nn.BatchNorm2d(8), torch.nn.Hardtanh())
        self.pw = torch.nn.Sequential(torch.nn.Conv2d(8, 16, 1), torch.nn.BatchNorm2d(16),
                                      torch.nn.ReLU6())
        self.pool = torch.nn.AvgPool2d(2)
        self.head = torch.nn.Linear(16 * 3 * 3, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.pool(self.pw(self.dw(self.c1(x)))), 1))


def train(model: torch.nn.Module, x: np.ndarray, y: np.ndarray, epochs: int,
          outputs_probabilities: bool = False) -> float:
    """Adam, batches of 100; returns the accuracy on the training set, in eval mode."""
    optimizer = torch.optim.Adam(model.parameters(), 0.01)
    inputs, labels = torch.tensor(x), torch.tensor(y)
    for _ in range(epochs):
        for i in range(0, len(x), 100):
            optimizer.zero_grad()
            out = model(inputs[i:i + 100])
            loss = (torch.nn.functional.nll_loss(torch.log(out + 1e-9), labels[i:i + 100])
                    if outputs_probabilities
                    else torch.nn.functional.cross_entropy(out, labels[i:i + 100]))
            loss.backward()
            optimizer.step()
    model.eval()
    return (model(inputs).argmax(1) == labels).float().mean().item()


def train_cnn(path: Path) -> tuple[float, np.ndarray, np.ndarray]:
    """Train the CNN on synthetic shapes; export it; return float accuracy, calib, eval."""
    x, y = shapes(2000, np.random.default_rng(0))
    torch.manual_seed(0)
    model = CNN()
    accuracy = train(model, x, y, epochs=12)
    torch.onnx.export(model, torch.zeros(1, 1, 12, 12), str(path), dynamo=False, opset_version=17)
    return accuracy, x[:400], shapes(1000, np.random.default_rng(1))[0]


class BranchyCNN(torch.nn.Module):
    """A residual Add, a Concat of two branches, HardSwish, Sigmoid and Tanh, a global
    average pool, and a Softmax head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1),
                                        torch.nn.BatchNorm2d(8), torch.nn.ReLU())
        self.res = torch.nn.Sequential(torch.nn.Conv2d(8, 8, 3, padding=1),
                                       torch.nn.BatchNorm2d(8))
        self.left = torch.nn.Sequential(torch.nn.Conv2d(8, 4, 1), torch.nn.Hardswish())
        self.right = torch.nn.Sequential(torch.nn.Conv2d(8, 4, 1), torch.nn.Sigmoid())
        self.squeeze = torch.nn.Sequential(torch.nn.MaxPool2d(2), torch.nn.Conv2d(8, 8, 1),
                                           torch.nn.Tanh())
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.head = torch.nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = torch.relu(x + self.res(x))
        x = torch.cat([self.left(x), self.right(x)], dim=1)
        x = self.pool(self.squeeze(x))
        return torch.softmax(self.head(torch.flatten(x, 1)), dim=1)


def train_branchy(path: Path, keep_batch_norm: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Train BranchyCNN briefly; export (optionally with BatchNormalization kept as nodes)."""
    x, y = shapes(1200, np.random.default_rng(2))
    torch.manual_seed(1)
    model = BranchyCNN()
    train(model, x, y, epochs=8, outputs_probabilities=True)  # it ends in a Softmax
    mode = torch.onnx.TrainingMode.PRESERVE if keep_batch_norm else torch.onnx.TrainingMode.EVAL
    torch.onnx.export(model, torch.zeros(1, 1, 12, 12), str(path), dynamo=False,
                      opset_version=17, training=mode, do_constant_folding=not keep_batch_norm)
    return x[:300], shapes(500, np.random.default_rng(3))[0]
