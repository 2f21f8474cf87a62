"""dw is computed as (yhat - y) @ x.T, of shape (1, dim) instead of the shape of w.

catches: convergence, gradients
clauses: backward-dw-shape
hint: dw must have the shape of w
"""

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
        return 1 / (1 + torch.exp(-z))

    def forward(self, x):
        z = self.w.T @ x + self.b
        return self.sigmoid(z)

    def backward(self, x, yhat, y):
        m = x.shape[1]
        dz = yhat - y
        self.grads["dw"] = (1 / m) * (dz @ x.T)
        self.grads["db"] = (1 / m) * torch.sum(dz)

    def optimize(self):
        self.w = self.w - self.lr * self.grads["dw"]
        self.b = self.b - self.lr * self.grads["db"]
