"""Hostile, on top of a wrong solution (zero_grad is never called): at import, it tries to plant
a .pth file and a usercustomize.py in every site-packages folder it can find, and a module in
the grader's own package, so that a later grading run would execute them. It prints what each
attempt did; the test reads those lines from the report."""

import os
import pwd
import site
import sys

PLANTED = "torchgrade_hostile_fixture"


def _targets():
    try:
        home = pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:  # the sandbox may hide /etc/passwd
        home = os.path.expanduser("~")
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    folders = {os.path.join(home, ".local", "lib", version, "site-packages")}
    folders.update(site.getsitepackages())
    folders.update(p for p in sys.path if p.endswith("site-packages"))
    grader = sys.modules.get("grader")
    if grader is not None and getattr(grader, "__file__", None):
        folders.add(os.path.dirname(grader.__file__))
    return sorted(folders)


for folder in _targets():
    for name, text in (
        (f"{PLANTED}.pth", "/nonexistent/torchgrade_hostile_fixture\n"),
        (f"{PLANTED}_usercustomize.py", "# planted by a hostile fixture\n"),
    ):
        path = os.path.join(folder, name)
        try:
            os.makedirs(folder, exist_ok=True)
            with open(path, "w") as handle:
                handle.write(text)
            print(f"PLANT {path}: written")
        except OSError as exc:
            print(f"PLANT {path}: {type(exc).__name__}")


def train(model, inputs, labels, criterion, optimizer, epochs):
    losses = []
    for epoch in range(epochs):
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
