"""The momentum buffers are created inside step(), so they start from zero at every step.

clauses: buffer-per-param
catches: values, convergence
hint: from one `step()` to the next
"""

import torch


class MySGD:
    def __init__(self, params, lr, momentum=0.0):
        self.params = list(params)
        self.lr = lr
        self.momentum = momentum

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        buffers = [torch.zeros_like(p) for p in self.params]
        with torch.no_grad():
            for i, p in enumerate(self.params):
                if p.grad is None:
                    continue
                buffers[i] = self.momentum * buffers[i] + p.grad
                p -= self.lr * buffers[i]
