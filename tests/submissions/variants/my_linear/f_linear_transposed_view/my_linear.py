"""A correct my linear in the style: f linear transposed view.

permits: any-init
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


class MyLinear(nn.Module):
    """Stores W as (in, out) and lets F.linear do the work on its transposed view."""

    def __init__(self, in_features, out_features, bias=True):
        super(MyLinear, self).__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features)
        self.weights = nn.Parameter(torch.empty(in_features, out_features).uniform_(-bound, bound))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        return F.linear(x, self.weights.t(), self.bias)
