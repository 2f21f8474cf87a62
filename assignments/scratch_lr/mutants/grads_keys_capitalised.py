"""grads uses the keys 'dW' and 'dB', not 'dw' and 'db'.

catches: gradients, shapes, values
clauses: init-grads, backward-dw
hint: has the key 'dW'
"""

import torch
from torch import nn


class LR(nn.Module):
    def __init__(self, dim, lr=torch.scalar_tensor(0.01)):
        super().__init__()
        self.w = torch.zeros(dim, 1)
        self.b = torch.scalar_tensor(0)
        self.grads = {"dW": torch.zeros(dim, 1), "dB": torch.scalar_tensor(0)}
        self.lr = lr

    def sigmoid(self, z):
        return 1 / (1 + torch.exp(-z))

    def forward(self, x):
        z = self.w.T @ x + self.b
        return self.sigmoid(z)

    def backward(self, x, yhat, y):
        m = x.shape[1]
        dz = yhat - y
        self.grads["dW"] = (1 / m) * (x @ dz.T)
        self.grads["dB"] = (1 / m) * torch.sum(dz)

    def optimize(self):
        self.w = self.w - self.lr * self.grads["dW"]
        self.b = self.b - self.lr * self.grads["dB"]
