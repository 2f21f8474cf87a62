"""w and b require grad, and backward gets dw and db from loss.backward() instead of the formulas.

clauses: no-grad-params, no-autograd-calls
catches: api, gradients
hint: No autograd in this exercise
"""

import torch
from torch import nn


class LR(nn.Module):
    def __init__(self, dim, lr=torch.scalar_tensor(0.01)):
        super().__init__()
        self.w = torch.zeros(dim, 1, requires_grad=True)
        self.b = torch.scalar_tensor(0, requires_grad=True)
        self.grads = {"dw": torch.zeros(dim, 1), "db": torch.scalar_tensor(0)}
        self.lr = lr

    def sigmoid(self, z):
        return torch.sigmoid(z)

    def forward(self, x):
        z = self.w.T @ x + self.b
        return self.sigmoid(z)

    def backward(self, x, yhat, y):
        # Rebuild the mean BCE from x and let autograd differentiate it.
        yhat = self.forward(x)
        loss = nn.functional.binary_cross_entropy(yhat, y.float())
        self.w.grad = None
        self.b.grad = None
        loss.backward()
        self.grads["dw"] = self.w.grad.detach().clone()
        self.grads["db"] = self.b.grad.detach().clone()

    def optimize(self):
        with torch.no_grad():
            self.w -= self.lr * self.grads["dw"]
            self.b -= self.lr * self.grads["db"]
