"""step() does not skip parameters whose grad is None, and fails on them.

clauses: step-skips-none
catches: values
hint: skip such parameters
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
                update = p.grad
                if self.momentum != 0:
                    if self.buffers[i] is None:
                        self.buffers[i] = p.grad.clone()
                    else:
                        self.buffers[i] = self.momentum * self.buffers[i] + p.grad
                    update = self.buffers[i]
                p -= self.lr * update
