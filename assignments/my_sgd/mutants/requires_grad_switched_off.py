"""step() switches requires_grad off to update in place, and never switches it back on.

catches: api, convergence
clauses: update-no-grad
hint: must still be the model's leaf tensor
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
        if True:
            for i, p in enumerate(self.params):
                if p.grad is None:
                    continue
                grad = p.grad
                p.requires_grad_(False)
                if self.momentum != 0:
                    if self.buffers[i] is None:
                        self.buffers[i] = grad.clone()
                    else:
                        self.buffers[i] = self.momentum * self.buffers[i] + grad
                    p -= self.lr * self.buffers[i]
                else:
                    p -= self.lr * grad
