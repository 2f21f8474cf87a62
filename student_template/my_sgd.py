"""Assignment 4: MySGD, stochastic gradient descent with momentum, written by hand.

Write an optimizer that does what torch.optim.SGD(params, lr, momentum) does.
Replace every `raise NotImplementedError(...)` below with your code.
"""

import torch


class MySGD:
    def __init__(self, params, lr, momentum=0.0):
        # TODO:
        #  - params is an iterable of tensors, often model.parameters(), which is a
        #    generator: it can be iterated only once, so store it as a list;
        #  - store lr and momentum;
        #  - prepare one momentum buffer per parameter (for example a list of None).
        #  Don't use torch.optim.SGD (or any torch optimizer) to do the work.
        raise NotImplementedError("TODO: MySGD.__init__ is not implemented yet")

    def zero_grad(self):
        # TODO: clear the gradient of every parameter: set p.grad = None
        #  (or zero it in place when it is not None).
        raise NotImplementedError("TODO: MySGD.zero_grad is not implemented yet")

    def step(self):
        # TODO: for every parameter p whose p.grad is not None:
        #  - without momentum: p = p - lr * p.grad
        #  - with momentum: on p's first step, buf = p.grad (a copy); afterwards
        #    buf = momentum * buf + p.grad; then p = p - lr * buf.
        #  Change p in place (p -= ...) inside `with torch.no_grad():`, so that the
        #  model keeps the same parameter tensors and autograd does not record the update.
        raise NotImplementedError("TODO: MySGD.step is not implemented yet")
