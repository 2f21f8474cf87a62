def train(model, inputs, labels, criterion, optimizer, epochs):
    model.train()
    history = []
    for _ in range(epochs):
        model.zero_grad()
        predictions = model(inputs)
        loss = criterion(predictions, labels)
        loss.backward()
        optimizer.step()
        history.append(float(loss))
    return history
