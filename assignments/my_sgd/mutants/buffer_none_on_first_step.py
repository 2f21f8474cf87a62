"""The buffers start as None and step() uses them before giving them a value.

catches: api, convergence, values
clauses: buffer-first-step
hint: buffer does not exist yet
"""

import torch


class MySGD:
    def __init__(self, params, lr, momentum=0.0):
        self.params = list(params)
        self.lr = lr
        self.momentum = momentum
        self.buffers = [None] * len(self.params)

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        with torch.no_grad():
            for i, p in enumerate(self.params):
                if p.grad is None:
                    continue
                grad = p.grad
                if self.momentum != 0:
                    self.buffers[i] = self.momentum * self.buffers[i] + grad
                    p -= self.lr * self.buffers[i]
                else:
                    p -= self.lr * grad
