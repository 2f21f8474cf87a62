"""Bug: backward takes the gradients from torch.func.grad, which is autograd (the exercise forbids it). It needs the real torch._dynamo, whose import makes a compile cache: in the sandbox that must land in the probe's scratch folder, so the only failures are the student's."""

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
        return self.sigmoid(self.w.T @ x + self.b)

    def backward(self, x, yhat, y):
        def loss(w, b):
            p = torch.sigmoid(w.T @ x + b)
            return torch.nn.functional.binary_cross_entropy(p, y)
        dw, db = torch.func.grad(loss, argnums=(0, 1))(self.w, self.b)
        self.grads["dw"] = dw
        self.grads["db"] = db

    def optimize(self):
        self.w = self.w - self.lr * self.grads["dw"]
        self.b = self.b - self.lr * self.grads["db"]
