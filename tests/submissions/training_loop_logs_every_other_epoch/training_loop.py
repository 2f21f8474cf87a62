"""Only every other epoch's loss is appended (if epoch % 2 == 0)."""

def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        if epoch % 2 == 0:
            print(f"epoch {epoch}: loss {loss.item():.4f}")
            losses.append(loss.item())
    return losses
