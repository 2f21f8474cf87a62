"""A correct my linear in the style: register parameter xavier.

permits: any-init
"""

import torch
import torch.nn as nn


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        nn.Module.__init__(self)
        self.in_features = in_features
        self.out_features = out_features
        self.register_parameter("weights", nn.Parameter(torch.empty(in_features, out_features)))
        nn.init.xavier_normal_(self.weights)
        if bias:
            self.register_parameter("bias", nn.Parameter(torch.full((out_features,), 0.01)))
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        out = x.matmul(self.weights)
        if self.bias is not None:
            out += self.bias
        return out
