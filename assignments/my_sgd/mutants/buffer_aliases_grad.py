"""The first buffer is p.grad itself, not a copy, and is then updated in place.

catches: values
clauses: buffer-first-step
hint: shares memory with `p.grad`
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
                    if self.buffers[i] is None:
                        self.buffers[i] = grad
                    else:
                        self.buffers[i].mul_(self.momentum).add_(grad)
                    p -= self.lr * self.buffers[i]
                else:
                    p -= self.lr * grad
