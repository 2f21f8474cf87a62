"""The momentum argument is named beta, so MySGD(params, lr, momentum=...) fails.

catches: api, convergence, values
clauses: sgd-class
hint: third argument is named `momentum`
"""

import torch


class MySGD:
    def __init__(self, params, lr, beta=0.0):
        self.params = list(params)
        self.lr = lr
        self.momentum = beta
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
                        self.buffers[i] = grad.clone()
                    else:
                        self.buffers[i] = self.momentum * self.buffers[i] + grad
                    p -= self.lr * self.buffers[i]
                else:
                    p -= self.lr * grad
