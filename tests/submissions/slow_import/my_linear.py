"""Correct, but slow to import (0.6 s): a short --timeout gives up on it, a longer one passes it."""

import time

time.sleep(0.6)

import torch
from torch import nn


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        # Always call the parent constructor first: nn.Module sets up the
        # bookkeeping that lets it find our parameters.
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features

        # Wrapping a tensor in nn.Parameter registers it with the module, so it shows
        # up in model.parameters() (and therefore in the optimizer) and gets a .grad.
        self.weights = nn.Parameter(torch.randn(in_features, out_features))

        if bias:
            self.bias = nn.Parameter(torch.randn(out_features))
        else:
            # Keep the attribute (forward checks it) but register no parameter.
            self.register_parameter("bias", None)

    def forward(self, x):
        # x has shape (*, in_features). The @ operator works on the last dimension
        # and keeps any leading dimensions, so y has shape (*, out_features).
        y = x @ self.weights
        if self.bias is not None:
            # bias has shape (out_features,) and broadcasts over the leading dims.
            y = y + self.bias
        return y
