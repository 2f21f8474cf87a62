"""Correct variant: type hints, docstrings, helper methods, a training loop under __main__."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class LR(nn.Module):
    """Logistic regression, features by samples."""

    def __init__(self, dim: int, lr: Tensor = torch.scalar_tensor(0.01)) -> None:
        super().__init__()
        self.dim = dim
        self.w: Tensor = torch.zeros(dim, 1)
        self.b: Tensor = torch.scalar_tensor(0)
        self.grads: dict[str, Tensor] = {"dw": torch.zeros(dim, 1), "db": torch.scalar_tensor(0)}
        self.lr = lr
        self.history: list[float] = []

    def _logits(self, x: Tensor) -> Tensor:
        return self.w.T @ x + self.b

    def sigmoid(self, z: Tensor) -> Tensor:
        return torch.sigmoid(z)

    def forward(self, x: Tensor) -> Tensor:
        return self.sigmoid(self._logits(x))

    @staticmethod
    def _samples(x: Tensor) -> int:
        return int(x.shape[1])

    def backward(self, x: Tensor, yhat: Tensor, y: Tensor) -> None:
        m = self._samples(x)
        residual = yhat - y
        self.grads["dw"] = x @ residual.T / m
        self.grads["db"] = residual.sum() / m

    def optimize(self) -> None:
        self.w = self.w - self.lr * self.grads["dw"]
        self.b = self.b - self.lr * self.grads["db"]

    def loss(self, yhat: Tensor, y: Tensor) -> Tensor:
        yhat = yhat.clamp(1e-7, 1 - 1e-7)
        return -(y * yhat.log() + (1 - y) * (1 - yhat).log()).mean()


if __name__ == "__main__":
    torch.manual_seed(0)
    x = torch.randn(2, 100)
    y = (x[0:1] > 0).float()
    model = LR(2, lr=torch.scalar_tensor(0.5))
    for _ in range(100):
        yhat = model(x)
        model.backward(x, yhat, y)
        model.optimize()
    print(model.loss(model(x), y))
