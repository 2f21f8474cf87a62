"""The training loop, with the lecture's device handling."""

import torch

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def train(model, inputs, labels, criterion, optimizer, epochs):
    model = model.to(device)
    inputs, labels = inputs.to(device), labels.to(device)
    model.train()
    history = []
    for _ in range(epochs):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        history.append(float(loss))
    return history
