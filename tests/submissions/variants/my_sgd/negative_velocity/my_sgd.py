"""Correct variant: a velocity with the opposite sign, v = momentum * v - g, then p += lr * v."""

import torch


class MySGD:
    def __init__(self, params, lr, momentum=0.0):
        self.params = list(params)
        self.lr, self.momentum = lr, momentum
        self.velocities = {}

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        for k, p in enumerate(self.params):
            if p.grad is None:
                continue
            if k in self.velocities:
                v = self.momentum * self.velocities[k] - p.grad
            else:
                v = -p.grad.clone()
            self.velocities[k] = v
            with torch.no_grad():
                p += self.lr * v
