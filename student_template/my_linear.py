"""Assignment 1: MyLinear, a linear layer built by hand from nn.Parameter.

Write a module that behaves like nn.Linear: y = x @ W + b.
Replace every `raise NotImplementedError(...)` below with your code.
"""

import torch
from torch import nn


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        # TODO:
        #  - call the parent constructor (super().__init__()) before anything else;
        #  - store in_features and out_features as attributes of the same names;
        #  - create self.weights as an nn.Parameter of shape (in_features, out_features)
        #    (note the order: in first, out second, so that x @ self.weights works);
        #  - if bias is True, create self.bias as an nn.Parameter of shape (out_features,);
        #    if bias is False, self.bias must be None and must NOT be a registered parameter.
        #  Any initialisation is fine, e.g. torch.randn as in the lecture.
        raise NotImplementedError("TODO: MyLinear.__init__ is not implemented yet")

    def forward(self, x):
        # TODO: x has shape (*, in_features): any number of leading dimensions,
        #  e.g. (in_features,), (batch, in_features) or (batch, seq, in_features).
        #  Return x @ self.weights, plus self.bias when it is not None.
        #  The result has shape (*, out_features). Gradients must reach both parameters,
        #  so don't detach anything.
        raise NotImplementedError("TODO: MyLinear.forward is not implemented yet")
