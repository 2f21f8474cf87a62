"""Correct variant: the velocity form v = momentum * v + lr * g, p -= v (same as torch for fixed lr)."""

import torch


class MySGD:
    def __init__(self, params, lr, momentum=0.0):
        self.params = list(params)
        self.lr = lr
        self.momentum = momentum
        self.v = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        with torch.no_grad():
            for p, v in zip(self.params, self.v):
                if p.grad is None:
                    continue
                v.mul_(self.momentum).add_(self.lr * p.grad)
                p.sub_(v)
