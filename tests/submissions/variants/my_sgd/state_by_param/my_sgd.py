"""Correct variant: a plain class, buffers in a dict keyed by the parameter itself."""

import torch


class MySGD:
    def __init__(self, params, lr, momentum=0.0):
        self.params = [p for p in params]
        self.lr = lr
        self.momentum = momentum
        self.state = {}

    def zero_grad(self):
        for p in self.params:
            if p.grad is not None:
                p.grad = None

    def step(self):
        with torch.no_grad():
            for p in self.params:
                if p.grad is None:
                    continue
                if self.momentum:
                    if p not in self.state:
                        self.state[p] = p.grad.detach().clone()
                    else:
                        self.state[p] = self.momentum * self.state[p] + p.grad
                    p -= self.lr * self.state[p]
                else:
                    p -= self.lr * p.grad
