"""Correct variant: w and b are frozen nn.Parameters (requires_grad=False), updated in place."""

import torch
from torch import nn


class LR(nn.Module):
    def __init__(self, dim, lr=torch.scalar_tensor(0.01)):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(dim, 1), requires_grad=False)
        self.b = nn.Parameter(torch.scalar_tensor(0), requires_grad=False)
        self.grads = {"dw": torch.zeros(dim, 1), "db": torch.scalar_tensor(0)}
        self.lr = lr

    def sigmoid(self, z):
        return torch.sigmoid(z)

    def forward(self, x):
        return self.sigmoid(self.w.T @ x + self.b)

    def backward(self, x, yhat, y):
        m = x.shape[1]
        dz = yhat - y
        self.grads["dw"] = (1 / m) * (x @ dz.T)
        self.grads["db"] = (1 / m) * torch.sum(dz)

    def optimize(self):
        self.w -= self.lr * self.grads["dw"]
        self.b -= self.lr * self.grads["db"]
