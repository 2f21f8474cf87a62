"""A correct my linear in the style: sum of products.

permits: any-init
"""

import torch
from torch import nn


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weights = nn.Parameter(torch.rand(in_features, out_features) - 0.5)
        self.bias = nn.Parameter(torch.rand(out_features) - 0.5) if bias else None

    def forward(self, x):
        # broadcast (*, in, 1) * (in, out) and sum over in: the same numbers as x @ W
        y = (x.unsqueeze(-1) * self.weights).sum(dim=-2)
        if self.bias is not None:
            y = y + self.bias.view(*([1] * (y.dim() - 1)), -1)
        return y
