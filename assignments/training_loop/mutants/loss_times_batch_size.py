"""Each loss is multiplied by the batch size, as in mini-batch code that sums an epoch's loss.

clauses: loss-before-update
catches: values
hint: times too large
"""


def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item() * inputs.size(0))
    return losses
