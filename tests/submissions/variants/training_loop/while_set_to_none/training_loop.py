"""A correct training loop in the style: while set to none.

"""

def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    epoch = 0
    while epoch < epochs:
        optimizer.zero_grad(set_to_none=True)
        loss = criterion(model(inputs), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        epoch += 1
    return losses
