"""step writes p = p - lr * buf, which rebinds the loop variable and leaves the tensor unchanged.

clauses: update-in-place
catches: api, values, convergence
hint: rebinds a name
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
                update = p.grad
                if self.momentum != 0:
                    if self.buffers[i] is None:
                        self.buffers[i] = p.grad.clone()
                    else:
                        self.buffers[i] = self.momentum * self.buffers[i] + p.grad
                    update = self.buffers[i]
                p = p - self.lr * update
