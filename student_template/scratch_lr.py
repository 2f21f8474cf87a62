"""Assignment 3: logistic regression from scratch, without autograd.

Data layout is features by samples: x has shape (dim, m) and y has shape (1, m) with 0/1 labels.
The model is yhat = sigmoid(w.T @ x + b); the loss is the mean binary cross-entropy.
Autograd is off limits: w and b must not require grad, and backward() must compute the
gradients with the formulas below, not with .backward() or torch.autograd.
Replace every `raise NotImplementedError(...)` below with your code.
"""

import torch
from torch import nn


class LR(nn.Module):
    def __init__(self, dim, lr=torch.scalar_tensor(0.01)):
        # TODO:
        #  - call super().__init__() first;
        #  - self.w = torch.zeros(dim, 1)
        #  - self.b = torch.scalar_tensor(0)            (a 0-dim tensor)
        #  - self.grads = {"dw": torch.zeros(dim, 1), "db": torch.scalar_tensor(0)}
        #  - self.lr = lr
        #  None of these may require grad.
        raise NotImplementedError("TODO: LR.__init__ is not implemented yet")

    def sigmoid(self, z):
        # TODO: return 1 / (1 + exp(-z)), elementwise.
        #  It must not return NaN for large |z| (try z = 1e4 and z = -1e4).
        raise NotImplementedError("TODO: LR.sigmoid is not implemented yet")

    def forward(self, x):
        # TODO: return sigmoid(w.T @ x + b), of shape (1, m).
        #  Careful: the snippet in the lecture forgets "+ b". Include it.
        raise NotImplementedError("TODO: LR.forward is not implemented yet")

    def backward(self, x, yhat, y):
        # TODO: with m = number of samples (x.shape[1]), set
        #    self.grads["dw"] = (1/m) * x @ (yhat - y).T      shape (dim, 1)
        #    self.grads["db"] = (1/m) * sum(yhat - y)         a 0-dim tensor, like b
        #  These are the gradients of the mean binary cross-entropy. No autograd.
        raise NotImplementedError("TODO: LR.backward is not implemented yet")

    def optimize(self):
        # TODO: one step of gradient descent:
        #    w <- w - lr * dw
        #    b <- b - lr * db
        raise NotImplementedError("TODO: LR.optimize is not implemented yet")
