"""A correct my linear in the style: einsum kaiming.

permits: any-init
"""

import torch
from torch import nn


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weights = nn.Parameter(torch.empty(in_features, out_features))
        nn.init.kaiming_uniform_(self.weights, nonlinearity="linear")
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features))
            nn.init.zeros_(self.bias)
        else:
            self.bias = None

    def forward(self, x):
        y = torch.einsum("...i,io->...o", x, self.weights)
        return y if self.bias is None else y + self.bias
