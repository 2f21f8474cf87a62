import torch
from torch import nn


class LR(nn.Module):
    """Logistic regression with hand-written gradients (x is dim x m, y is 1 x m)."""

    def __init__(self, dim, lr=torch.scalar_tensor(0.01)):
        super().__init__()
        self.lr = lr
        self.w = torch.zeros(dim, 1)
        self.b = torch.scalar_tensor(0)
        self.grads = {"dw": torch.zeros(dim, 1), "db": torch.scalar_tensor(0)}

    def sigmoid(self, z):
        # exp(-|z|) is at most 1, so nothing overflows for either sign of z.
        e = torch.exp(-torch.abs(z))
        return torch.where(z >= 0, 1 / (1 + e), e / (1 + e))

    def forward(self, x):
        return self.sigmoid(torch.matmul(self.w.T, x) + self.b)

    def backward(self, x, yhat, y):
        m = x.shape[1]
        err = yhat - y
        self.grads["dw"] = torch.matmul(x, err.T) / m
        self.grads["db"] = err.sum() / m

    def optimize(self):
        with torch.no_grad():
            self.w -= self.lr * self.grads["dw"]
            self.b -= self.lr * self.grads["db"]
