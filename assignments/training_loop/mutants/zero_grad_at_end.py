"""zero_grad() runs at the end of each epoch, after step(), instead of first.

clauses: call-order
catches: values
hint: at the end of each epoch
"""


def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    return losses
