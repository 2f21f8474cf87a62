# Fixture: every call raises with a long hostile message and prints hostile text.
import torch
from _payload import LONG_MESSAGE, PRINTED


class MyLinear(torch.nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        print(PRINTED)
        raise ValueError(LONG_MESSAGE)
