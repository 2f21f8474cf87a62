"""The criterion is called as criterion(labels, outputs), target first.

clauses: criterion-order
catches: convergence
hint: the prediction first and the target second
"""


def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(labels, outputs)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
