"""Correct variant: a float default lr, a clamped sigmoid, dw by broadcasting and a sum."""

import math

import torch
from torch import nn


class LR(nn.Module):
    def __init__(self, dim, lr=0.01):
        super().__init__()
        self.w = torch.zeros(dim, 1)
        self.b = torch.scalar_tensor(0.0)
        self.grads = dict(dw=torch.zeros(dim, 1), db=torch.scalar_tensor(0.0))
        self.lr = float(lr)

    def sigmoid(self, z):
        z = torch.clamp(z, -60.0, 60.0)
        return 1 / (1 + torch.exp(-z))

    def forward(self, x):
        z = (self.w * x).sum(dim=0, keepdim=True) + self.b
        return self.sigmoid(z)

    def backward(self, x, yhat, y):
        _, m = x.shape
        dz = yhat - y
        self.grads["dw"] = (x * dz).sum(dim=1, keepdim=True) / m
        self.grads["db"] = dz.sum() / m

    def optimize(self):
        self.w = self.w - self.lr * self.grads["dw"]
        self.b = self.b - self.lr * self.grads["db"]

    def accuracy(self, x, y):
        return float(((self.forward(x) >= 0.5).float() == y).float().mean())

    def loss(self, yhat, y):
        eps = math.ulp(1.0)
        yhat = yhat.clamp(eps, 1 - eps)
        return float(-(y * yhat.log() + (1 - y) * (1 - yhat).log()).mean())
