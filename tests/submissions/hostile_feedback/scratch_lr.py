# Fixture: every call raises with a long hostile message and prints hostile text.
import torch
from _payload import LONG_MESSAGE, PRINTED


class LR(torch.nn.Module):
    def __init__(self, dim, lr=torch.scalar_tensor(0.01)):
        super().__init__()
        print(PRINTED)
        raise ArithmeticError(LONG_MESSAGE)
