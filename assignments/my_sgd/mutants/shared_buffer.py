"""One momentum buffer is shared by all parameters.

catches: api, convergence, values
clauses: buffer-per-param
hint: The shapes of different parameters got mixed
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
                    if self.buffers[0] is None:
                        self.buffers[0] = grad.clone()
                    else:
                        self.buffers[0] = self.momentum * self.buffers[0] + grad
                    p -= self.lr * self.buffers[0]
                else:
                    p -= self.lr * grad
