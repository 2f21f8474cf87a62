"""optimize() updates w but never b.

catches: values
clauses: optimize-b
hint: left b unchanged
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
        self.grads["dw"] = (1 / m) * (x @ dz.T)
        self.grads["db"] = (1 / m) * torch.sum(dz)

    def optimize(self):
        self.w = self.w - self.lr * self.grads["dw"]
