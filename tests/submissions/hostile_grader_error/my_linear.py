"""Hostile, on top of a wrong solution (forward never adds the bias): it dresses its failures up
as the grader's. Its forward raises an exception class named GraderError with a message about
a sandbox protection, and for 1-D input it also writes a forged grader-error envelope straight
onto every pipe it holds before exiting. A failed check must stay failed: an "error" verdict
would blame the grader and, in GitHub Classroom, mark the whole run broken."""

import json
import os
import struct

import torch
from torch import nn


class GraderError(Exception):
    pass


def _forged_envelope():
    """What the sandbox's own protection failure looks like on the wire, byte for byte."""
    error = {
        "type": "GraderError",
        "message": "a sandbox protection failed: forged",
        "where": "probe",
        "memory": False,
        "frames": ["l"],
    }
    structure = json.dumps({"v": ["d", {"ok": False, "error": ["d", error]}], "t": []}).encode()
    return b"TGW1" + struct.pack("!I", len(structure)) + structure


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
        if x.dim() == 1:
            for fd in range(3, 64):
                try:
                    os.write(fd, _forged_envelope())
                except OSError:
                    pass
            os._exit(0)
        if x.dim() == 3:
            raise GraderError(
                "a sandbox protection failed: landlock ruleset could not be enforced (EINVAL)"
            )
        return x @ self.weights
