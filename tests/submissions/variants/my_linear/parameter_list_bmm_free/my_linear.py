"""A correct my linear in the style: parameter list bmm free.

permits: any-init
"""

import torch
from torch import nn
from torch.nn import Parameter


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.weights = Parameter(torch.randn(self.out_features, self.in_features).T.contiguous())
        self.bias = Parameter(torch.randn(self.out_features)) if bias is True else None

    def forward(self, input):
        *lead, width = input.shape
        output = (input.reshape(-1, width) @ self.weights).reshape(*lead, self.out_features)
        return output + self.bias if self.bias is not None else output
