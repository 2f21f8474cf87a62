"""Correct variant: einsum everywhere, m from y.size(-1)."""

import torch
from torch import nn


class LR(nn.Module):
    def __init__(self, dim, lr=torch.scalar_tensor(0.01)):
        super().__init__()
        self.w = torch.zeros(dim, 1)
        self.b = torch.scalar_tensor(0)
        self.grads = {"dw": torch.zeros(dim, 1), "db": torch.scalar_tensor(0)}
        self.lr = lr

    def sigmoid(self, z):
        return torch.sigmoid(z)

    def forward(self, x):
        return self.sigmoid(torch.einsum("dk,dm->km", self.w, x) + self.b)

    def backward(self, x, yhat, y):
        m = y.size(-1)
        dz = yhat - y
        self.grads["dw"] = torch.einsum("dm,km->dk", x, dz) / m
        self.grads["db"] = torch.einsum("km->", dz) / m

    def optimize(self):
        self.w = self.w - self.lr * self.grads["dw"]
        self.b = self.b - self.lr * self.grads["db"]
