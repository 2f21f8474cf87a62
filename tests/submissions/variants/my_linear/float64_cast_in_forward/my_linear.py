"""A correct my linear in the style: float64 parameters, forward casts x to their dtype and back.

permits: any-init
"""

import torch
import torch.nn as nn


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weights = nn.Parameter(torch.randn(in_features, out_features, dtype=torch.float64))
        if bias:
            self.bias = nn.Parameter(torch.randn(out_features, dtype=torch.float64))
        else:
            self.bias = None

    def forward(self, x):
        out = x.to(self.weights.dtype) @ self.weights
        if self.bias is not None:
            out = out + self.bias
        return out.to(x.dtype)
