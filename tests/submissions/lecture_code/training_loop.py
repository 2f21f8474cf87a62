"""The training loop as the lecture writes it: `.to(device)` everywhere, a print every 10 epochs."""

import torch
import torch.nn as nn

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def train(model, inputs, labels, criterion, optimizer, epochs):
    model.to(device)
    inputs, labels = inputs.to(device), labels.to(device)
    loss_history = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        loss_history.append(loss.item())
        if (epoch + 1) % 10 == 0:
            print("Epoch: {}, Loss: {:.4f}".format(epoch + 1, loss.item()))
    return loss_history


if __name__ == "__main__":
    model = nn.Linear(1, 1).to(device)
    x = torch.linspace(0, 1, 20).unsqueeze(1).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    train(model, x, 3 * x + 1, nn.MSELoss(), optimizer, 100)
