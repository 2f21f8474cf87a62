"""Honest but unsupported: batches from a DataLoader with worker processes.

Workers hand tensors back over Unix sockets, which the sandbox does not have; the grader must
say so rather than show a bare PermissionError.
"""

from torch.utils.data import DataLoader, TensorDataset


def train(model, inputs, labels, criterion, optimizer, epochs):
    loader = DataLoader(TensorDataset(inputs, labels), batch_size=len(inputs), num_workers=2)
    losses = []
    for epoch in range(epochs):
        for batch_inputs, batch_labels in loader:
            optimizer.zero_grad()
            loss = criterion(model(batch_inputs), batch_labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses
