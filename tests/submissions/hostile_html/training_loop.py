"""Hostile: a training loop that skips zero_grad (so its loss curve is charted) and prints markup."""


def train(model, inputs, labels, criterion, optimizer, epochs):
    print("<script>document.title = 'pwned'</script><b onmouseover=alert(5)>x</b>")
    losses = []
    for _ in range(epochs):
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    return losses
