"""A correct MySGD written differently from the reference.

It subclasses torch.optim.Optimizer (allowed: only torch.optim.SGD itself is off limits),
keeps its state per parameter, zeroes gradients in place, and uses the "velocity" form of
momentum, v = momentum * v - lr * grad, p += v, which equals torch's form for a fixed lr.
"""

import torch


class MySGD(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.0):
        super().__init__(params, {"lr": lr, "momentum": momentum})

    def zero_grad(self, set_to_none=False):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.grad.detach_()
                    p.grad.zero_()

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            lr, momentum = group["lr"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if momentum == 0:
                    p.add_(p.grad, alpha=-lr)
                    continue
                if "velocity" not in state:
                    state["velocity"] = -lr * p.grad
                else:
                    state["velocity"] = momentum * state["velocity"] - lr * p.grad
                p.add_(state["velocity"])
