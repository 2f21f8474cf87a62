"""Correct variant: written for an accelerator, as the lecture does, with .to(device)."""

import torch

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class MySGD:
    def __init__(self, params, lr, momentum=0.0):
        self.params = list(params)
        self.lr = lr
        self.momentum = momentum
        self.buffers = [None] * len(self.params)
        print(f"MySGD on {device}: {len(self.params)} parameters")

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        with torch.no_grad():
            for i, p in enumerate(self.params):
                if p.grad is None:
                    continue
                grad = p.grad.to(device)
                if self.momentum != 0.0:
                    if self.buffers[i] is None:
                        self.buffers[i] = grad.detach().clone().to(device)
                    else:
                        self.buffers[i] = self.momentum * self.buffers[i] + grad
                    grad = self.buffers[i]
                p -= (self.lr * grad).to(p.device)
