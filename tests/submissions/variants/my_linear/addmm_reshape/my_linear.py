"""A correct my linear in the style: addmm reshape.

permits: any-init
"""

import torch
from torch import nn


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weights = nn.Parameter(torch.randn(in_features, out_features) * 0.1)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x):
        flat = x.reshape(-1, self.in_features)
        if self.bias is None:
            out = torch.mm(flat, self.weights)
        else:
            out = torch.addmm(self.bias, flat, self.weights)
        return out.reshape(*x.shape[:-1], self.out_features)
