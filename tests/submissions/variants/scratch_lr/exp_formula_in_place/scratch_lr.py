"""Correct variant: the lecture's 1 / (1 + exp(-z)), and in-place updates in optimize."""

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
        return self.sigmoid(self.w.T @ x + self.b)

    def backward(self, x, yhat, y):
        m = x.shape[1]
        self.grads["dw"] = (1 / m) * x @ (yhat - y).T
        self.grads["db"] = (1 / m) * torch.sum(yhat - y)

    def optimize(self):
        self.w -= self.lr * self.grads["dw"]
        self.b -= self.lr * self.grads["db"]
