"""On a step where a parameter's grad is None, its momentum buffer decays: buf = momentum * buf."""

import torch


class MySGD:
    def __init__(self, params, lr, momentum=0.0):
        # model.parameters() is a generator: it can be iterated only once, so keep a list.
        self.params = list(params)
        self.lr = lr
        self.momentum = momentum
        # One buffer per parameter, created on that parameter's first step.
        self.buffers = [None] * len(self.params)

    def zero_grad(self):
        # Like torch.optim: drop the gradients; the next backward() creates fresh ones.
        for p in self.params:
            p.grad = None

    def step(self):
        # The update must not be recorded by autograd, and p is a leaf that requires
        # grad, so changing it in place is only allowed under no_grad.
        with torch.no_grad():
            for i, p in enumerate(self.params):
                if p.grad is None:
                    # no gradient: the velocity still decays
                    if self.buffers[i] is not None:
                        self.buffers[i] = self.momentum * self.buffers[i]
                    continue
                update = p.grad
                if self.momentum != 0:
                    if self.buffers[i] is None:
                        self.buffers[i] = p.grad.clone()
                    else:
                        self.buffers[i] = self.momentum * self.buffers[i] + p.grad
                    update = self.buffers[i]
                # In place: p must stay the same tensor the model holds.
                p -= self.lr * update
