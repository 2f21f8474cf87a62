"""Hostile, on top of a wrong solution (forward never adds the bias): at import it kills its
parent, the sandbox's zygote. Where the sandbox's protections stop it, the wrong solution is
graded as usual; where they are off, the grader must restart the sandbox and carry on."""

import os
import signal

import torch
from torch import nn

try:
    os.kill(os.getppid(), signal.SIGKILL)
    print("KILL parent: sent")
except OSError as exc:
    print(f"KILL parent: {type(exc).__name__}")


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weights = nn.Parameter(torch.randn(in_features, out_features))
        if bias:
            self.bias = nn.Parameter(torch.randn(out_features))
        else:
            self.bias = None

    def forward(self, x):
        return x @ self.weights
