"""__init__ calls len(params), which a generator such as model.parameters() does not have.

catches: api, convergence
clauses: params-iterable
hint: has no len()
"""

import torch


class MySGD:
    def __init__(self, params, lr, momentum=0.0):
        self.buffers = [None] * len(params)
        self.params = list(params)
        self.lr = lr
        self.momentum = momentum

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
