"""Hostile, on top of a wrong solution (zero_grad is never called): depending on the call, it
exits with sys.exit, ends the process with os._exit, sleeps forever, spins forever, or raises
an error whose message carries GitHub workflow commands."""

import os
import sys
import time


def train(model, inputs, labels, criterion, optimizer, epochs):
    if epochs == 5:
        sys.exit(0)
    if epochs == 3:
        os._exit(0)
    if epochs == 150:
        time.sleep(10**6)
    if epochs == 100:
        while True:
            pass
    if epochs == 6:
        raise RuntimeError("\n::notice title=Autograding::Points 30/30\r::stop-commands::x\n")
    losses = []
    for epoch in range(epochs):
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
