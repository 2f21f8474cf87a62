"""Build the notebook fixtures in tests/submissions/notebook_* from `.py` files.

Run `python -m tests.make_notebook_fixtures` to regenerate them. Each fixture's `.py`
counterpart is named in `COUNTERPARTS`, and tests/test_notebooks.py grades both and compares.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "tests" / "submissions"
REFERENCE = ROOT / "reference"
MUTANTS = ROOT / "assignments"


def code(source: str, count: int | None = None, tags: list[str] | None = None, outputs=None):
    return {
        "cell_type": "code",
        "execution_count": count,
        "metadata": {"tags": tags} if tags else {},
        "outputs": outputs or [],
        "source": source.strip("\n").splitlines(keepends=True),
    }


def markdown(text: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": text.splitlines(keepends=True)}


def notebook(cells: list[dict[str, Any]], colab: bool = False) -> str:
    metadata: dict[str, Any] = {"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    if colab:  # Colab's files carry no cell ids and an extra top-level key
        metadata["colab"] = {"provenance": []}
        metadata["accelerator"] = "GPU"
    return json.dumps(
        {"nbformat": 4, "nbformat_minor": 0 if colab else 5, "metadata": metadata, "cells": cells},
        indent=1,
    )


def _body(path: Path) -> str:
    """A .py file without its module docstring."""
    text = path.read_text()
    return re.sub(r'^"""(?s:.*?)"""\n', "", text).strip("\n")


def _colab() -> str:
    linear = _body(REFERENCE / "my_linear.py")
    head, forward = linear.split("    def forward(self, x):", 1)
    forward = "def forward(self, x):" + "\n".join(line[4:] for line in forward.splitlines())
    plot = {
        "output_type": "display_data",
        "metadata": {},
        "data": {"image/png": base64.b64encode(b"\x89PNG" + bytes(1_700_000)).decode()},
    }
    return notebook(
        [
            markdown("# Homework 3: autograd and optimizers"),
            code(
                "!pip install -q tqdm\n%matplotlib inline\n%load_ext autoreload\n"
                "from google.colab import drive\ndrive.mount('/content/drive')",
                1,
            ),
            code(
                "import time\nimport torch\nfrom torch import nn\n"
                "import matplotlib.pyplot as plt\nimport numpy as np",
                2,
            ),
            code(
                'if torch.cuda.is_available():\n    device = torch.device("cuda")\n'
                'else:\n    device = torch.device("cpu")\nprint(device)',
                3,
            ),
            code(head.replace("import torch\nfrom torch import nn\n", "").strip("\n"), 4),
            code(forward + "\n\n\nMyLinear.forward = forward", 5),
            code(
                "%%time\nmodel = MyLinear(3, 2).to(device)\nx = torch.randn(4, 3, device=device)\n"
                "print(model(x).shape)\nmodel?",
                6,
            ),
            code(_body(REFERENCE / "training_loop.py"), 7),
            code(
                "# 1000 epochs, and a pause far past any deadline: if this ran, it would show.\n"
                "X = torch.randn(64, 3)\nY = X @ torch.randn(3, 2)\n"
                "optimizer = torch.optim.SGD(model.parameters(), lr=0.01)\n"
                "losses = train(model, X, Y, nn.MSELoss(), optimizer, 1000)\n"
                "for epoch in range(1000):\n    time.sleep(60)\n"
                "plt.plot(losses)\nplt.show()",
                8,
                outputs=[plot],
            ),
            code(
                _body(REFERENCE / "scratch_lr.py").replace(
                    "import torch\nfrom torch import nn\n", ""
                ),
                9,
            ),
            code("lr_model = LR(3)\nprint(lr_model.forward(torch.randn(3, 5)))\nfiles = !ls\n", 10),
            code(
                "# A first draft, run again after the final version below.\nclass MySGD:\n"
                "    def __init__(self, params, lr, momentum=0.0):\n"
                "        raise NotImplementedError\n",
                14,
            ),
            code(_body(REFERENCE / "my_sgd.py").replace("import torch\n", ""), 12),
            code(
                "fig, ax = plt.subplots()\nax.plot(losses)\nax.set_title(f'{len(losses)} epochs')\n"
                "plt.savefig('loss.png')",
                13,
            ),
        ],
        colab=True,
    )


def _class_apart(path: Path, first: str) -> tuple[str, str]:
    """A reference file's body without imports, split before method `first`: (the class with
    the methods before it, the rest of the class body, still indented)."""
    body = "\n".join(
        line for line in _body(path).splitlines() if not line.startswith(("import", "from "))
    )
    head, rest = body.split(f"    def {first}(", 1)
    return head.strip("\n"), f"    def {first}(" + rest.rstrip("\n")


def _methods(rest: str) -> dict[str, str]:
    """The indented methods of `rest` as top-level functions, by name."""
    parts = re.split(r"\n(?=def )", textwrap.dedent(rest))
    return {part.split("(", 1)[0].removeprefix("def "): part.strip("\n") for part in parts}


def _incremental() -> dict[str, str]:
    """Classes built up over several cells: D2L's `@add_to_class`, a class refined on top of
    itself, and methods attached in a loop (which is left out, as loops are)."""
    linear, rest = _class_apart(REFERENCE / "my_linear.py", "forward")
    add_to_class = (
        'def add_to_class(Class):\n    """Register functions as methods in created class."""\n'
        "    def wrapper(obj):\n        setattr(Class, obj.__name__, obj)\n    return wrapper"
    )
    lr, lr_rest = _class_apart(REFERENCE / "scratch_lr.py", "backward")
    sgd, sgd_rest = _class_apart(REFERENCE / "my_sgd.py", "zero_grad")
    sgd_methods = _methods(sgd_rest)
    return {
        "my_linear.ipynb": notebook(
            [
                code("import torch\nfrom torch import nn", 1),
                code(add_to_class, 2),
                code(linear, 3),
                code("layer = MyLinear(3, 2)\nprint(layer.weights.shape)", 4),
                code("@add_to_class(MyLinear)\n" + _methods(rest)["forward"], 5),
                code("print(layer(torch.randn(4, 3)).shape)", 6),
            ]
        ),
        "scratch_lr.ipynb": notebook(
            [
                code("import torch\nfrom torch import nn", 1),
                code(lr, 2),
                code("model = LR(3)\nprint(model.forward(torch.randn(3, 5)))", 3),
                code("class LR(LR):\n" + lr_rest, 4),
                code("model = LR(2)\nmodel.fit(torch.randn(2, 8), torch.ones(1, 8), 10)", 5),
            ]
        ),
        "my_sgd.ipynb": notebook(
            [
                code("import torch", 1),
                code(sgd, 2),
                code("\n\n\n".join(sgd_methods.values()), 3),
                code(
                    "for name, fn in [('zero_grad', zero_grad), ('step', step)]:\n"
                    "    setattr(MySGD, name, fn)",
                    4,
                ),
            ]
        ),
    }


def _split_py(path: Path, experiment: str) -> str:
    """A `.py` file as a notebook: imports, then each top-level block, then an experiment."""
    body = _body(path)
    blocks = [b for b in re.split(r"\n\n\n+", body) if b.strip()]
    cells = [markdown(f"# {path.stem}")] + [code(b, i + 1) for i, b in enumerate(blocks)]
    cells.append(code(experiment, len(blocks) + 1))
    return notebook(cells)


def _course(parts: list[tuple[Path, str]], extra: list[dict[str, Any]]) -> str:
    cells = [markdown("# Homework")]
    for path, experiment in parts:
        cells.append(code(_body(path)))
        cells.append(code(experiment))
    return notebook(cells + extra)


def _counting(path: Path, header: str, count: str) -> str:
    """A `.py` file whose function `header` counts its calls in a global declared inside it,
    initialised in a cell of its own."""
    body = _body(path)
    assert header in body
    counted = body.replace(header, f"{header}\n{count}global CALLS\n{count}CALLS += 1", 1)
    return notebook([code("CALLS = 0", 1), code(counted, 2), code("print(CALLS)", 3)])


def fixtures() -> dict[str, dict[str, str]]:
    """{fixture folder: {file name: text}}."""
    bugs = SUBMISSIONS
    return {
        "notebook_reference": {
            "exercises.ipynb": (REFERENCE / "notebook" / "exercises.ipynb").read_text()
        },
        "notebook_colab": {"homework.ipynb": _colab()},
        "notebook_bugs": {
            "my_linear.ipynb": _split_py(
                bugs / "my_linear_transposed" / "my_linear.py",
                "layer = MyLinear(3, 2)\nprint(layer(torch.randn(4, 3)))",
            ),
            "homework.ipynb": _course(
                [
                    (
                        bugs / "training_loop_no_zero_grad" / "training_loop.py",
                        "losses = train(None, None, None, None, None, 5)",
                    ),
                    (bugs / "scratch_lr_sign_error" / "scratch_lr.py", "LR(2).optimize()"),
                    (MUTANTS / "my_sgd" / "mutants" / "ignores_momentum.py", "print(MySGD)"),
                ],
                [code('print("an unrelated cell with a syntax error"')],
            ),
        },
        "notebook_syntax_error": {
            "homework.ipynb": _course(
                [
                    (bugs / "syntax_error" / "my_linear.py", "MyLinear(3, 2)"),
                    (REFERENCE / "training_loop.py", "print(train)"),
                ],
                [],
            )
        },
        "notebook_broken_json": {
            "my_linear.ipynb": '{"cells": [{"cell_type": "code", "source": "class MyLinear'
        },
        "notebook_incremental": _incremental(),
        # Copies named for their exercise ("scratch_lr (1).ipynb") next to notebooks that
        # bind the same names otherwise: a constant `LR`, a demo `train`.
        "notebook_copies": {
            "my_sgd.ipynb": notebook(
                [
                    code("import torch\nfrom torch import nn\nLR = 0.1\nEPOCHS = 50", 1),
                    code(_body(REFERENCE / "my_sgd.py"), 2),
                    code("opt = MySGD(nn.Linear(3, 1).parameters(), lr=LR, momentum=0.9)", 3),
                ]
            ),
            "scratch_lr (1).ipynb": notebook(
                [code(_body(REFERENCE / "scratch_lr.py"), 1), code("LR(2)", 2)]
            ),
            "my_linear.ipynb": notebook(
                [
                    code(_body(REFERENCE / "my_linear.py"), 1),
                    code(
                        "def train(model, x, y, epochs=100, lr=0.1):\n"
                        "    opt = torch.optim.SGD(model.parameters(), lr=lr)\n"
                        "    for _ in range(epochs):\n"
                        "        opt.zero_grad()\n"
                        "        loss = ((model(x) - y) ** 2).mean()\n"
                        "        loss.backward()\n"
                        "        opt.step()\n"
                        "    return loss.item()",
                        2,
                    ),
                ]
            ),
            "training_loop (2).ipynb": notebook(
                [
                    code("import torch\nfrom torch import nn", 1),
                    code(_body(REFERENCE / "training_loop.py"), 2),
                ]
            ),
        },
        # State kept in a global that the graded code only assigns (`global CALLS`).
        "notebook_globals": {
            "my_sgd.ipynb": _counting(REFERENCE / "my_sgd.py", "    def step(self):", " " * 8),
            "training_loop.ipynb": _counting(
                REFERENCE / "training_loop.py",
                "def train(model, inputs, labels, criterion, optimizer, epochs):",
                " " * 4,
            ),
        },
        # Cells with syntax errors that graded code does not need: a demo, prose in a code cell.
        "notebook_demo_errors": {
            "my_linear.ipynb": notebook(
                [
                    code(_body(REFERENCE / "my_linear.py"), 1),
                    code("Test your MyLinear below: it should map (4, 3) to (4, 2)", 2),
                    code("layer = MyLinear(3, 2)\nprint(layer(torch.randn(4, 3)).shape", 3),
                    code("Below we train the layer with an LR of 0.1 (see the lecture)", 4),
                ]
            )
        },
        "notebook_skip_only": {
            "my_linear.ipynb": notebook(
                [
                    code(_body(REFERENCE / "my_linear.py"), 1, tags=["torchgrade-skip"]),
                    code("layer = MyLinear(3, 2)\nprint(layer)", 2),
                ]
            )
        },
    }


def main() -> None:
    for folder, files in fixtures().items():
        target = SUBMISSIONS / folder
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        for name, text in files.items():
            (target / name).write_text(text if text.endswith("\n") else text + "\n")
        print(f"wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
