"""The buffer is an average, buf = momentum * buf + (1 - momentum) * grad, unlike torch.optim.SGD.

clauses: buffer-update, step-like-torch
catches: values, convergence
hint: (1 - momentum)
"""

import torch


class MySGD:
    def __init__(self, params, lr, momentum=0.0):
        self.params = list(params)
        self.lr = lr
        self.momentum = momentum
        self.buffers = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        with torch.no_grad():
            for i, p in enumerate(self.params):
                if p.grad is None:
                    continue
                if self.momentum != 0:
                    self.buffers[i] = self.momentum * self.buffers[i] + (1 - self.momentum) * p.grad
                    p -= self.lr * self.buffers[i]
                else:
                    p -= self.lr * p.grad
