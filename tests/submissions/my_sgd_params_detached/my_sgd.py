"""__init__ keeps p.detach() of each parameter: tensors that never receive .grad."""

import torch


class MySGD:
    def __init__(self, params, lr, momentum=0.0):
        self.params = [p.detach() for p in params]
        self.lr = lr
        self.momentum = momentum
        self.buffers = [None] * len(self.params)

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            if self.momentum != 0:
                if self.buffers[i] is None:
                    self.buffers[i] = p.grad.clone()
                else:
                    self.buffers[i] = self.momentum * self.buffers[i] + p.grad
                p -= self.lr * self.buffers[i]
            else:
                p -= self.lr * p.grad
