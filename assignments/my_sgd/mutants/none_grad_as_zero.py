"""A parameter without a grad is treated as having a zero grad, so its momentum keeps moving it.

catches: values
clauses: step-skips-none
hint: momentum kept pushing it
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
                grad = p.grad if p.grad is not None else torch.zeros_like(p)
                if self.momentum != 0:
                    if self.buffers[i] is None:
                        self.buffers[i] = grad.clone()
                    else:
                        self.buffers[i] = self.momentum * self.buffers[i] + grad
                    p -= self.lr * self.buffers[i]
                else:
                    p -= self.lr * grad
