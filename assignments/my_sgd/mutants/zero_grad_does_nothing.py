"""zero_grad() is left empty, so gradients accumulate from one backward pass to the next.

clauses: zero-grad-clears
catches: api, convergence
hint: gradients accumulate
"""

import torch


class MySGD:
    def __init__(self, params, lr, momentum=0.0):
        self.params = list(params)
        self.lr = lr
        self.momentum = momentum
        self.buffers = [None] * len(self.params)

    def zero_grad(self):
        pass

    def step(self):
        with torch.no_grad():
            for i, p in enumerate(self.params):
                if p.grad is None:
                    continue
                update = p.grad
                if self.momentum != 0:
                    if self.buffers[i] is None:
                        self.buffers[i] = p.grad.clone()
                    else:
                        self.buffers[i] = self.momentum * self.buffers[i] + p.grad
                    update = self.buffers[i]
                p -= self.lr * update
