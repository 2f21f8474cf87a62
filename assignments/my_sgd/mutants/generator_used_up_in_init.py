"""__init__ builds the buffers by iterating params, then stores list(params), which is empty for a generator.

catches: api, convergence
clauses: params-iterable
hint: the generator was used up
"""

import torch


class MySGD:
    def __init__(self, params, lr, momentum=0.0):
        self.buffers = [None for _ in params]
        self.params = list(params)
        self.lr = lr
        self.momentum = momentum

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        with torch.no_grad():
            for i, p in enumerate(self.params):
                if i >= len(self.buffers):
                    self.buffers.append(None)
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
