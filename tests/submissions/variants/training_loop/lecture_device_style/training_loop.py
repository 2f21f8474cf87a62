"""A correct training loop in the style: lecture device style.

permits: model-zero-grad-ok
"""

import torch
import torch.nn as nn

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def train(model, inputs, labels, criterion, optimizer, epochs):
    model = model.to(device)
    inputs = inputs.to(device)
    labels = labels.to(device)
    model.train()
    loss_list = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        loss_list.append(loss.item())
        if (epoch + 1) % 50 == 0:
            print(f"Epoch [{epoch + 1}/{epochs}], Loss: {loss.item():.4f}")
    return loss_list


if __name__ == "__main__":
    model = nn.Linear(1, 1).to(device)
    x = torch.randn(10, 1).to(device)
    train(model, x, 2 * x, nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1), 100)
