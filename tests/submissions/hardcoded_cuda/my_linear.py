"""MyLinear that moves its input to the GPU unconditionally."""

import os

import torch
import torch.nn as nn

print("CUDA_VISIBLE_DEVICES=" + repr(os.environ.get("CUDA_VISIBLE_DEVICES")))


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weights = nn.Parameter(torch.randn(in_features, out_features))
        self.bias = nn.Parameter(torch.randn(out_features)) if bias else None

    def forward(self, x):
        x = x.cuda()
        out = x @ self.weights.cuda()
        return out + self.bias.cuda() if self.bias is not None else out
