"""Correct variant: buffers start at zero (0 * momentum + grad is grad), p.sub_ under no_grad.

permits: zero-grad-zeros-ok
"""

import torch


class MySGD:
    def __init__(self, params, lr, momentum=0.0):
        self.params = list(params)
        self.lr = lr
        self.momentum = momentum
        self.buffers = {i: torch.zeros_like(p) for i, p in enumerate(self.params)}

    def zero_grad(self):
        for p in self.params:
            if p.grad is not None:
                p.grad.detach_()
                p.grad.zero_()

    @torch.no_grad()
    def step(self):
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            buf = self.buffers[i]
            buf.mul_(self.momentum).add_(p.grad)
            p.sub_(self.lr * buf)
