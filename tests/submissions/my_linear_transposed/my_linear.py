"""Bug: weights are stored as (out_features, in_features) like nn.Linear, but forward still does x @ self.weights."""

import torch
from torch import nn


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        # nn.Linear stores its weight as (out, in), so do the same here.
        self.weights = nn.Parameter(torch.randn(out_features, in_features))
        if bias:
            self.bias = nn.Parameter(torch.randn(out_features))
        else:
            self.bias = None

    def forward(self, x):
        y = x @ self.weights
        if self.bias is not None:
            y = y + self.bias
        return y
