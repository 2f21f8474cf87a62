"""The parameter moves with last step's buffer, and the buffer is updated afterwards.

clauses: momentum-step
catches: values, convergence
hint: update the buffer first
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
                    p -= self.lr * self.buffers[i]
                    self.buffers[i] = self.momentum * self.buffers[i] + p.grad
                else:
                    p -= self.lr * p.grad
