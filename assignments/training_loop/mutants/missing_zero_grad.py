"""optimizer.zero_grad() is never called, so gradients accumulate from epoch to epoch.

clauses: call-order
catches: values, convergence
hint: gradients accumulate
"""


def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
