"""Correct variant: written for an accelerator, as the lecture does, with .to(device)."""

import torch
from torch import nn

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class LR(nn.Module):
    def __init__(self, dim, lr=torch.scalar_tensor(0.01)):
        super().__init__()
        self.w = torch.zeros(dim, 1).to(device)
        self.b = torch.scalar_tensor(0).to(device)
        self.grads = {
            "dw": torch.zeros(dim, 1).to(device),
            "db": torch.scalar_tensor(0).to(device),
        }
        self.lr = lr.to(device)

    def sigmoid(self, z):
        return 1.0 / (1.0 + torch.exp(-z))

    def forward(self, x):
        x = x.to(device)
        return self.sigmoid(self.w.T @ x + self.b)

    def backward(self, x, yhat, y):
        x, yhat, y = x.to(device), yhat.to(device), y.to(device)
        m = x.shape[1]
        self.grads["dw"] = (1 / m) * (x @ (yhat - y).T)
        self.grads["db"] = (1 / m) * torch.sum(yhat - y)

    def optimize(self):
        self.w = self.w - self.lr * self.grads["dw"]
        self.b = self.b - self.lr * self.grads["db"]
