"""backward differentiates the loss with torch.autograd.grad on copies of w and b.

catches: api, gradients
clauses: no-autograd-calls
hint: No autograd in this exercise
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
        w = self.w.clone().requires_grad_()
        b = self.b.clone().requires_grad_()
        with torch.enable_grad():
            p = torch.sigmoid(w.T @ x + b)
            loss = nn.functional.binary_cross_entropy(p, y)
            dw, db = torch.autograd.grad(loss, [w, b])
        self.grads["dw"] = dw
        self.grads["db"] = db

    def optimize(self):
        self.w = self.w - self.lr * self.grads["dw"]
        self.b = self.b - self.lr * self.grads["db"]
