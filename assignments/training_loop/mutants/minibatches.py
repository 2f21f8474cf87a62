"""Each epoch loops over mini-batches of 8 samples, with a step per mini-batch.

clauses: full-batch
catches: values
hint: full-batch
"""


def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        for start in range(0, len(inputs), 8):
            optimizer.zero_grad()
            outputs = model(inputs[start : start + 8])
            loss = criterion(outputs, labels[start : start + 8])
            loss.backward()
            optimizer.step()
        losses.append(loss.item())
    return losses
