"""Correct variant: torch._foreach_* over the parameters that have a gradient."""

import torch


class MySGD:
    def __init__(self, params, lr, momentum=0.0):
        self.params = list(params)
        self.lr = lr
        self.momentum = momentum
        self.bufs = [None] * len(self.params)

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self):
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        params = [self.params[i] for i in live]
        grads = [self.params[i].grad for i in live]
        if not params:
            return
        if self.momentum == 0:
            torch._foreach_add_(params, grads, alpha=-self.lr)
            return
        for i, g in zip(live, grads):
            if self.bufs[i] is None:
                self.bufs[i] = g.clone()
            else:
                self.bufs[i].mul_(self.momentum).add_(g)
        torch._foreach_add_(params, [self.bufs[i] for i in live], alpha=-self.lr)
