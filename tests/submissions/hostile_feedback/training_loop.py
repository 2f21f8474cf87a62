# Fixture: every call raises with a long hostile message and prints hostile text.
from _payload import LONG_MESSAGE, PRINTED


def train(model, inputs, labels, criterion, optimizer, epochs):
    print(PRINTED)
    raise RuntimeError(LONG_MESSAGE)
