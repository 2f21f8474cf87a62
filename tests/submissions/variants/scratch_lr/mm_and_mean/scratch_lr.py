"""Correct variant: torch.mm and .t(), db as a mean, the update with torch.sub(alpha=...)."""

import torch
import torch.nn as nn


class LR(nn.Module):
    def __init__(self, dim, lr=torch.scalar_tensor(0.01)):
        super(LR, self).__init__()
        self.w = torch.zeros((dim, 1))
        self.b = torch.tensor(0.0)
        self.grads = {"db": torch.tensor(0.0), "dw": torch.zeros((dim, 1))}
        self.lr = lr

    def sigmoid(self, z):
        return torch.sigmoid(z)

    def forward(self, x):
        return self.sigmoid(torch.mm(self.w.t(), x) + self.b)

    def backward(self, x, yhat, y):
        dz = yhat - y
        self.grads["dw"] = torch.mm(x, dz.t()) / x.shape[1]
        self.grads["db"] = dz.mean()

    def optimize(self):
        self.w = torch.sub(self.w, self.grads["dw"], alpha=float(self.lr))
        self.b = torch.sub(self.b, self.grads["db"], alpha=float(self.lr))
