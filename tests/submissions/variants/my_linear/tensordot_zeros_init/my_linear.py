"""A correct my linear in the style: tensordot zeros init.

permits: any-init
"""

import torch
from torch import nn


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.use_bias = bias
        self.weights = nn.Parameter(torch.zeros(in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if self.use_bias else None

    def forward(self, x):
        y = torch.tensordot(x, self.weights, dims=([-1], [0]))
        if self.use_bias:
            y = y + self.bias.expand_as(y)
        return y
