"""optimizer.zero_grad() at the start and again at the end of every epoch."""

def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()   # clean up, just to be safe
        losses.append(loss.item())
    return losses
