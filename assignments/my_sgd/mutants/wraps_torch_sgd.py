"""MySGD delegates to torch.optim.SGD instead of updating the parameters itself.

clauses: no-torch-sgd
catches: api
hint: Don't wrap, subclass or call torch.optim.SGD
"""

import torch


class MySGD:
    def __init__(self, params, lr, momentum=0.0):
        self.inner = torch.optim.SGD(params, lr=lr, momentum=momentum)

    def zero_grad(self):
        self.inner.zero_grad()

    def step(self):
        self.inner.step()
