"""Fixture: Trojan Source in what the code prints and raises, on top of a wrong solution.

The source holds only escapes; the text it prints holds the raw characters: a right-to-left
override that shows a fake total reversed, bidi isolates, zero-width and invisible characters,
line separators, and GitHub workflow commands anywhere in a line, including one already split
by a zero-width space (the old defusing) and one behind a line separator.
"""

import torch
from torch import nn

FAKE_TOTAL = "Total: \u202e03/03 :erocs\u202c \u2066Points 30/30\u2069"
TRICKS = (
    FAKE_TOTAL,
    "score \u200b\u200c\u200d\u2060\ufeff\u00ad\u3164\U000e0041 hidden",
    "line\u2028::notice title=Points::30/30\u2029::error::x",
    "inline ::warning::Points 30/30 and :\u200b:notice::z and ##[error]boom",
    "\u2067\u2068isolate\u2069 \u202a\u202b\u202d embed \u061c\u200e\u200f",
)


def _shout() -> None:
    for trick in TRICKS:
        print(trick)


_shout()


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
        _shout()
        raise ValueError(" | ".join(TRICKS))
