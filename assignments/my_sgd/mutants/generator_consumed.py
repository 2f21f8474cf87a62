"""params is stored as given: model.parameters() is a generator, used up by its first loop.

clauses: params-iterable
catches: api, convergence
hint: Only the first step changed the parameters
"""

import torch


class MySGD:
    def __init__(self, params, lr, momentum=0.0):
        self.params = params
        self.lr = lr
        self.momentum = momentum
        self.buffers = {}

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
                    if i not in self.buffers:
                        self.buffers[i] = p.grad.clone()
                    else:
                        self.buffers[i] = self.momentum * self.buffers[i] + p.grad
                    update = self.buffers[i]
                p -= self.lr * update
