"""Notebook submissions: parsed as data, each exercise's definitions extracted, graded like `.py`.

The extraction tests parse notebooks built here; the grading tests grade the fixtures in
tests/submissions/notebook_* through the real CLI and compare with the same code as `.py` files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from grader.course_notebook import expected
from grader.sandbox import extraction, notebooks
from tests.conftest import REFERENCE, ROOT, SUBMISSIONS
from tests.make_notebook_fixtures import code, fixtures, markdown, notebook


def _module(cells: list[dict], roots: set[str], folder: Path | None = None) -> extraction.Module:
    nb = notebooks.read(notebook(cells).encode(), "hw.ipynb")
    return extraction.extract(extraction.parse(nb), roots, folder)


def test_keeps_definitions_and_their_dependencies_only() -> None:
    module = _module(
        [
            code("import torch\nimport matplotlib.pyplot as plt\nfrom functools import wraps"),
            code("try:\n    import numpy as np\nexcept ImportError:\n    np = None"),
            code("SCALE = 2.0\nlosses = []\nprint('hello')"),
            code(
                "def logged(fn):\n    @wraps(fn)\n    def inner(*a):\n        return fn(*a)\n"
                "    return inner"
            ),
            code(
                "@logged\ndef train(model, epochs=SCALE):\n    losses = []\n"
                "    for e in range(int(epochs)):\n        losses.append(float(np.mean([e])))\n"
                "    return losses"
            ),
            code("losses = train(None, 1000)\nplt.plot(losses)\nfor i in range(3):\n    print(i)"),
        ],
        {"train"},
    )
    source = module.source
    assert "import torch" not in source and "matplotlib" not in source
    assert "from functools import wraps" in source and "import numpy as np" in source
    assert "SCALE = 2.0" in source and "@logged" in source
    assert (
        "losses = train" not in source
        and "plt.plot" not in source
        and "print('hello')" not in source
    )
    namespace: dict = {}
    exec(compile(source, "generated", "exec"), namespace)  # the extracted code alone is complete
    assert namespace["train"](None, 3) == [0.0, 1.0, 2.0]


def test_class_completed_by_attribute_assignment_and_last_definition_wins() -> None:
    module = _module(
        [
            code("from torch import nn", 1),
            code("class MyLinear(nn.Module):\n    pass", 5),
            code(
                "class MyLinear(nn.Module):\n    def __init__(self):\n        super().__init__()", 2
            ),
            code("def forward(self, x):\n    return x + 1\n\nMyLinear.forward = forward", 3),
        ],
        {"MyLinear"},
    )
    namespace: dict = {}
    exec(compile(module.source, "generated", "exec"), namespace)
    assert namespace["MyLinear"]().forward(1) == 2
    assert module.source.count("class MyLinear") == 1
    assert [key for key, _ in module.notes] == ["notebook_order"]
    assert 'cell 2 "class MyLinear(nn.Module):"' in module.notes[0][1]["ran"]


ADD_TO_CLASS = (
    "def add_to_class(Class):\n    def wrapper(obj):\n        setattr(Class, obj.__name__, obj)\n"
    "    return wrapper"
)


def test_a_method_attached_by_a_decorator_is_kept_with_the_decorator() -> None:
    cells = [
        code("import torch\nfrom torch import nn", 1),
        code(ADD_TO_CLASS, 2),
        code("class MyLinear(nn.Module):\n    def __init__(self):\n        super().__init__()", 3),
        code("@add_to_class(MyLinear)\ndef forward(self, x):\n    return x + 1", 4),
        code("@torch.no_grad()\ndef evaluate(model):\n    return model(1)", 5),
        code("class MyLinear(MyLinear):\n    pass", 6),
        code("@add_to_class(MyLinear)\ndef scale(self):\n    return 2", 7),
    ]
    module = _module(cells, {"MyLinear"})
    namespace: dict = {}
    exec(compile(module.source, "generated", "exec"), namespace)
    layer = namespace["MyLinear"]()
    assert layer(1) == 2 and layer.scale() == 2
    assert "def evaluate" not in module.source  # its decorator names no class
    nb = notebooks.read(notebook(cells).encode(), "hw.ipynb")
    parsed = extraction.parse(nb)
    rows = extraction.left_out(parsed, extraction.extract(parsed, {"MyLinear"}).kept, set())
    assert [(cell.position, line, why) for cell, line, why in rows] == [
        (5, "@torch.no_grad()", "unused")
    ]


def test_a_decorated_method_of_a_replaced_class_is_left_out_and_listed() -> None:
    cells = [
        code("from torch import nn", 1),
        code(ADD_TO_CLASS, 2),
        code("class MyLinear(nn.Module):\n    pass", 3),
        code("@add_to_class(MyLinear)\ndef forward(self, x):\n    return x", 4),
        code("class MyLinear(nn.Module):\n    def __init__(self):\n        super().__init__()", 5),
    ]
    nb = notebooks.read(notebook(cells).encode(), "hw.ipynb")
    parsed = extraction.parse(nb)
    module = extraction.extract(parsed, {"MyLinear"})
    assert "def forward" not in module.source and module.source.count("class MyLinear") == 1
    rows = {
        (cell.position, why) for cell, _, why in extraction.left_out(parsed, module.kept, set())
    }
    assert rows == {(2, "unused"), (3, "unused"), (4, "unused")}


def test_a_class_refined_on_top_of_itself_keeps_what_it_refines() -> None:
    module = _module(
        [
            code("from torch import nn", 1),
            code(
                "class LR(nn.Module):\n    def __init__(self, dim):\n        super().__init__()\n"
                "        self.dim = dim",
                2,
            ),
            code("model = LR(3)\nprint(model)", 3),
            code("class LR(LR):\n    def backward(self):\n        return self.dim", 4),
            code("SIZE = 2\nSIZE = SIZE + 1", 5),
            code("def make(n=SIZE):\n    return LR(n)", 6),
        ],
        {"LR", "make"},
    )
    namespace: dict = {}
    exec(compile(module.source, "generated", "exec"), namespace)
    assert namespace["make"]().backward() == 3
    assert "model = LR(3)" not in module.source and module.notes == []


def test_ipython_syntax_goes_through_the_transformer_not_line_by_line() -> None:
    module = _module(
        [
            code("%matplotlib inline\nimport torch"),
            code("PERIOD = (10 +\n    7 % 3)\nfiles = !ls\nPERIOD?"),
            code("def f():\n    !nvidia-smi\n    fmt = '%d items'\n    return fmt % PERIOD"),
        ],
        {"f"},
    )
    namespace: dict = {}
    exec(compile(module.source, "generated", "exec"), namespace)
    assert namespace["f"]() == "11 items"
    assert "get_ipython" not in module.source


def test_missing_import_is_named_and_skip_markers_leave_cells_out(tmp_path: Path) -> None:
    module = _module(
        [
            code("import torch\nfrom tqdm import tqdm"),
            code("def train(epochs):\n    return [e for e in tqdm(range(epochs))]"),
            code("# torchgrade: skip\ndef helper():\n    return 1"),
            code("def helper2():\n    return 2", tags=["torchgrade-skip"]),
        ],
        {"train", "helper", "helper2"},
        tmp_path,
    )
    assert "def helper" not in module.source
    assert module.found == {"train"}
    ((key, params),) = module.notes
    assert key == "notebook_import_missing" and params["module"] == "tqdm"
    assert params["names"] == "train" and "cell 1" in params["cell"]  # who needs it
    # Through an alias, and for two definitions: the definitions are named.
    module = _module(
        [
            code("from tqdm.notebook import tqdm\nprogress = tqdm"),
            code("def train(epochs):\n    return list(progress(range(epochs)))"),
            code("class Loop:\n    def run(self):\n        return tqdm([])"),
        ],
        {"train", "Loop"},
        tmp_path,
    )
    ((key, params),) = module.notes
    assert (params["module"], params["names"]) == ("tqdm.notebook", "Loop, train")


def test_lines_map_back_to_cells() -> None:
    module = _module(
        [markdown("# hw"), code("import torch\nprint(1)"), code("x = 1\n\ndef f():\n    return x")],
        {"f"},
    )
    lines = module.source.splitlines()
    assert module.origin[lines.index("def f():")] == (3, 3)
    assert module.origin[lines.index("x = 1")] == (3, 1)
    assert "import torch" not in module.source


def test_a_file_that_is_not_a_notebook_is_rejected_with_a_message() -> None:
    for data in (b'{"cells": [', b"[1, 2]", b"\xff\xfe", b'{"nbformat": 4}'):
        with pytest.raises(notebooks.NotebookError):
            notebooks.read(data, "x.ipynb")


def test_strict_validation_failures_are_tolerated() -> None:
    raw = {
        "nbformat": 4,
        "nbformat_minor": 4,
        "metadata": {"colab": {}},
        "cells": [
            {
                "cell_type": "code",
                "source": "def f():\n    return 1",
                "metadata": {},
                "outputs": [{"output_type": "weird"}],
                "execution_count": 1,
                "extra": 1,
            }
        ],
    }
    nb = notebooks.read(json.dumps(raw).encode(), "x.ipynb")
    assert [c.source for c in nb.cells] == ["def f():\n    return 1"]


def test_older_notebooks_are_upgraded() -> None:
    v3 = {
        "nbformat": 3,
        "nbformat_minor": 0,
        "metadata": {},
        "worksheets": [
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "input": "def f():\n    return 1",
                        "language": "python",
                        "outputs": [],
                        "prompt_number": 3,
                    }
                ],
                "metadata": {},
            }
        ],
    }
    (cell,) = notebooks.read(json.dumps(v3).encode(), "x.ipynb").cells
    assert (cell.kind, cell.source, cell.execution_count) == ("code", "def f():\n    return 1", 3)


def test_outputs_are_stripped_before_the_size_limit(tmp_path: Path) -> None:
    source = SUBMISSIONS / "notebook_colab" / "homework.ipynb"
    assert source.stat().st_size > 2 << 20
    staged = notebooks.stage_notebook(source, tmp_path / "nb.ipynb", 2 << 20)
    assert staged is not None and staged[1] < 64 << 10


def test_committed_notebooks_match_the_py_files() -> None:
    for path, text in expected(ROOT).items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path} is out of date: run python -m grader.course_notebook"
        )
    for folder, files in fixtures().items():
        for name, text in files.items():
            assert (SUBMISSIONS / folder / name).read_text().rstrip("\n") == text.rstrip("\n"), (
                f"{folder}/{name} is out of date: run python -m tests.make_notebook_fixtures"
            )


# ---------------------------------------------------------------------------- graded fixtures


def _verdicts(graded, names=None) -> dict[str, tuple[str, float, str]]:
    return {
        c["id"]: (c["status"], c["score"], c["hint"])
        for a in graded.report["assignments"]
        if names is None or a["name"] in names
        for c in a["checks"]
    }


def test_reference_and_colab_notebooks_grade_as_the_reference(grade_folder) -> None:
    reference = grade_folder(REFERENCE)
    for fixture in ("notebook_reference", "notebook_colab"):
        graded = grade_folder(SUBMISSIONS / fixture)
        assert _verdicts(graded) == _verdicts(reference)
        assert graded.report["score"] == graded.report["max_score"] == 40
    colab = grade_folder(SUBMISSIONS / "notebook_colab")
    (info,) = colab.report["submission"]["notebooks"]
    left = {(row["cell"], row["statement"]) for row in info["left_out"]}
    assert (9, "losses = train(model, X, Y, nn.MSELoss(), optimizer, 1000)") in left
    assert (9, "for epoch in range(1000):") in left
    assert (2, "!pip install -q tqdm") in left
    assert all(a["notebook"] == "homework.ipynb" for a in colab.report["assignments"])
    assert "ran last in your session" in colab.assignment("my_sgd")["notes"][0]


def test_bug_notebooks_grade_as_the_same_py_files(grade_folder, tmp_path: Path) -> None:
    folder = tmp_path / "py"
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "my_linear_transposed" / "my_linear.py", folder)
    shutil.copy(SUBMISSIONS / "training_loop_no_zero_grad" / "training_loop.py", folder)
    shutil.copy(SUBMISSIONS / "scratch_lr_sign_error" / "scratch_lr.py", folder)
    shutil.copy(
        ROOT / "assignments" / "my_sgd" / "mutants" / "ignores_momentum.py", folder / "my_sgd.py"
    )
    as_py = grade_folder(folder)
    graded = grade_folder(SUBMISSIONS / "notebook_bugs")
    assert _verdicts(graded) == _verdicts(as_py)
    assert graded.not_passed() and all(a["score"] < 10 for a in graded.report["assignments"])
    assert graded.assignment("my_linear")["notebook"] == "my_linear.ipynb"
    assert graded.assignment("my_sgd")["notebook"] == "homework.ipynb"
    shape = graded.check("my_linear::test_output_shape_3d")["message"]
    assert 'my_linear.ipynb, cell 3 "class MyLinear(nn.Module):", line ' in shape
    (info,) = [n for n in graded.report["submission"]["notebooks"] if n["path"] == "homework.ipynb"]
    assert {"syntax"} == {r["reason"] for r in info["left_out"] if r["reason"] == "syntax"}


def test_classes_built_up_over_cells_grade_as_the_reference(grade_folder) -> None:
    """D2L's `@add_to_class`, and `class LR(LR):` on top of an earlier LR, give full marks;
    methods attached in a loop are left out with the loop, and the error names its cell."""
    graded = grade_folder(SUBMISSIONS / "notebook_incremental")
    assert graded.assignment("my_linear")["score"] == 10
    assert graded.assignment("scratch_lr")["score"] == 10
    sgd = graded.assignment("my_sgd")
    assert sgd["score"] == 0
    check = graded.check("my_sgd::test_step_without_momentum")
    assert "'MySGD' object has no attribute 'step'" in check["message"]
    assert check["hint"].startswith("cell 4, `for name, fn in [('zero_grad', zero_grad)")
    assert "`MySGD.step = ...`" in check["hint"]
    (info,) = [n for n in graded.report["submission"]["notebooks"] if n["path"] == "my_sgd.ipynb"]
    rows = {(r["cell"], r["statement"], r["reason"]) for r in info["left_out"]}
    assert (3, "def step(self):", "unused") in rows
    assert (4, "for name, fn in [('zero_grad', zero_grad), ('step', step)]:", "experiment") in rows


def test_a_syntax_error_costs_only_its_own_exercise(grade_folder) -> None:
    graded = grade_folder(
        SUBMISSIONS / "notebook_syntax_error",
        "--assignment",
        "my_linear",
        "--assignment",
        "training_loop",
    )
    as_py = grade_folder(
        SUBMISSIONS / "syntax_error", "--assignment", "my_linear", "--assignment", "training_loop"
    )
    assert _verdicts(graded, {"my_linear"}) == _verdicts(as_py, {"my_linear"})
    assert graded.assignment("training_loop")["score"] == 10
    message = graded.report["assignments"][0]["checks"][0]["message"]
    assert "my_linear.py (made from homework.ipynb) could not be imported: SyntaxError" in message
    assert 'homework.ipynb, cell 2 "import torch", line 5' in message


def test_broken_json_and_skip_only_notebooks(grade_folder, tmp_path: Path) -> None:
    broken = grade_folder(SUBMISSIONS / "notebook_broken_json", "--assignment", "my_linear")
    result = broken.assignment("my_linear")
    assert result["status"] == "missing" and "is not a Jupyter notebook" in result["message"]
    assert "Traceback" not in broken.result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "my_linear.py").write_text("import torch\n")
    as_py = grade_folder(empty, "--assignment", "my_linear")
    skipped = grade_folder(SUBMISSIONS / "notebook_skip_only", "--assignment", "my_linear")
    assert _verdicts(skipped) == _verdicts(as_py)
    assert skipped.report["score"] == 0
    (info,) = skipped.report["submission"]["notebooks"]
    assert [r["reason"] for r in info["left_out"]][:1] == ["skipped"]


def test_py_file_wins_over_a_notebook(grade_folder, tmp_path: Path) -> None:
    folder = tmp_path / "both"
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "notebook_bugs" / "my_linear.ipynb", folder)
    shutil.copy(REFERENCE / "my_linear.py", folder)
    graded = grade_folder(folder, "--assignment", "my_linear")
    result = graded.assignment("my_linear")
    assert result["score"] == 10 and result["notebook"] == ""
    assert "my_linear.py was graded; my_linear.ipynb also provides" in result["notes"][0]


def test_batch_grades_a_notebook_inside_a_zip(tmp_path: Path) -> None:
    import zipfile

    from tests.batch_helpers import read_gradebook, report, run_batch

    root = tmp_path / "class"
    root.mkdir()
    with zipfile.ZipFile(root / "alice.zip", "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.write(SUBMISSIONS / "notebook_bugs" / "homework.ipynb", "hw3/homework.ipynb")
    out = tmp_path / "out"
    result = run_batch(root, "--out", out, "--jobs", "1", "--assignment", "my_sgd")
    assert result.returncode == 0, result.stderr
    graded = report(out, "alice")
    (assignment,) = graded["assignments"]
    assert assignment["notebook"] == "homework.ipynb" and assignment["status"] == "graded"
    assert 0 < assignment["score"] < 10
    assert [row["student"] for row in read_gradebook(out)] == ["alice"]


def test_gradescope_grades_a_notebook_and_installs_the_notebook_extra(tmp_path, grade_folder):
    import os
    import subprocess
    import sys
    import zipfile

    from grader import bundle
    from tests.conftest import run_cli

    zip_path = tmp_path / "autograder.zip"
    assert run_cli("gradescope-bundle", zip_path).exit_code == 0
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(tmp_path / "source")
    source = tmp_path / "source"
    with zipfile.ZipFile(source / bundle.wheel_name()) as wheel:
        meta = next(n for n in wheel.namelist() if n.endswith("METADATA"))
        requires = wheel.read(meta).decode()
    assert "Requires-Dist: nbformat" in requires and "Requires-Dist: ipython" in requires
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index"]
    subprocess.run([*pip, "--target", str(site), str(source / bundle.wheel_name())], check=True)
    submission = SUBMISSIONS / "notebook_bugs"
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "TORCHGRADE_SUBMISSION_DIR": str(submission),
        "TORCHGRADE_RESULTS_DIR": str(tmp_path / "results"),
        "TORCHGRADE_PYTHON": sys.executable,
    }
    completed = subprocess.run(
        ["bash", source / "run_autograder"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    assert results["score"] == grade_folder(submission).report["score"]
    assert "homework.ipynb" in completed.stdout


def _provided(tmp_path: Path, files: dict[str, str]):
    import hashlib

    from grader.report import FileInfo
    from grader.sandbox import notebook_sources
    from grader.sandbox.staging import Staged
    from grader.spec import discover

    staged = Staged(folder=tmp_path)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        digest = hashlib.sha256(text.encode()).hexdigest()
        staged.files.append(FileInfo(path=name, size=len(text), sha256=digest))
    return notebook_sources.provide(staged, discover())


def test_writefile_cells_are_the_students_modules(tmp_path: Path) -> None:
    provided = _provided(
        tmp_path,
        {
            "hw.ipynb": notebook(
                [
                    code("%%writefile utils.py\ndef helper():\n    return 1"),
                    code("%%writefile training_loop.py\nfrom utils import helper\nprint('hi')"),
                    code("%%writefile -a training_loop.py\n\ndef train(*args):\n    return []"),
                    code("from torch import nn\nclass MyLinear(nn.Module):\n    pass"),
                ]
            )
        },
    )
    assert provided.notebook_of == {"training_loop": "hw.ipynb", "my_linear": "hw.ipynb"}
    written = (tmp_path / "training_loop.py").read_text()
    assert written.startswith("from utils import helper\nprint('hi')")  # verbatim, as a file
    assert "def train(*args):" in written
    assert (tmp_path / "utils.py").read_text().startswith("def helper():")
    assert "class MyLinear(nn.Module):" in (tmp_path / "my_linear.py").read_text()
    assert provided.maps["training_loop.py"].where(4) == (
        'hw.ipynb, cell 3 "%%writefile -a training_loop.py"',
        3,
    )
    assert provided.maps["training_loop.py"].where(1) == (
        'hw.ipynb, cell 2 "%%writefile training_loop.py"',
        2,
    )


def test_errors_and_integrity_findings_point_into_the_notebook(tmp_path: Path) -> None:
    from grader.report import IntegrityFinding
    from grader.sandbox import notebook_sources

    provided = _provided(
        tmp_path,
        {
            "my_linear.ipynb": notebook(
                [
                    markdown("# MyLinear"),
                    code("import torch\nfrom torch import nn"),
                    code(
                        "import gc\nclass MyLinear(nn.Module):\n    def forward(self, x):\n"
                        "        gc.collect()\n        return x"
                    ),
                    code("MyLinear()(1)"),
                ]
            )
        },
    )
    source = (tmp_path / "my_linear.py").read_text().splitlines()
    line = source.index("        gc.collect()") + 1
    error = {
        "type": "ZeroDivisionError",
        "message": "division by zero (my_linear.py, line 1)",
        "frames": [["my_linear.py", line, "forward", "gc.collect()"]],
    }
    moved = notebook_sources.relocate(error, provided.maps)
    cell = 'my_linear.ipynb, cell 3 "import gc"'
    assert moved["frames"] == [[cell, 4, "forward", "gc.collect()"]]
    assert moved["message"] == 'division by zero (my_linear.ipynb, cell 2 "import torch", line 2)'
    finding = IntegrityFinding(file="my_linear.py", line=line, code="memory-search", reason="gc")
    relocated = notebook_sources.relocate_findings([finding], provided)
    assert (relocated[0].file, relocated[0].line) == (cell, 4)
    assert relocated[1].code == "notebook-left-out" and "cells 4" in relocated[1].reason


def test_an_error_on_a_class_a_left_out_loop_completes_names_the_loop(tmp_path: Path) -> None:
    provided = _provided(
        tmp_path,
        {
            "my_sgd.ipynb": notebook(
                [
                    code("class MySGD:\n    def __init__(self, params, lr):\n        self.lr = lr"),
                    code("def step(self):\n    pass\n\ndef zero_grad(self):\n    pass"),
                    code("# attach\nfor name in ['step']:\n    setattr(MySGD, name, step)"),
                ]
            )
        },
    )
    source_map = provided.maps["my_sgd.py"]
    error = {"type": "AttributeError", "owner": "MySGD", "owner_kind": "instance"}
    help = source_map.left_out_help({**error, "missing": "step"})
    assert help.startswith("cell 3, `for name in ['step']:`, sets attributes of MySGD")
    assert "`MySGD.step = ...`" in help
    # Not named by the loop, or another class: the loop is not the cause, nothing is said.
    assert source_map.left_out_help({**error, "missing": "zero_grad"}) == ""
    assert source_map.left_out_help({**error, "owner": "Other", "missing": "step"}) == ""
    assert source_map.left_out_help({**error, "type": "TypeError", "missing": "step"}) == ""


def test_hostile_notebooks_get_a_message_not_a_traceback(tmp_path: Path) -> None:
    deep = "def MyLinear():\n    return " + "[" * 5000 + "]" * 5000
    nested = '{"cells": [], "metadata": ' + "[" * 100000 + "]" * 100000 + "}"
    provided = _provided(
        tmp_path,
        {"my_linear.ipynb": notebook([code(deep)]), "my_sgd.ipynb": nested},
    )
    assert "my_sgd" not in provided.notebook_of
    assert provided.unusable["my_sgd"].startswith("my_sgd.ipynb is not a Jupyter notebook")
    assert "my_linear" not in provided.notebook_of or (tmp_path / "my_linear.py").is_file()


# ------------------------------------------------------------- which notebook, what is kept

SGD_CELLS = [
    code("import torch\nfrom torch import nn\nLR = 0.1\nEPOCHS = 50"),
    code("class MySGD:\n    def __init__(self, params, lr):\n        self.lr = lr"),
    code("opt = MySGD([], lr=LR)"),
]


def test_a_constant_does_not_define_a_class_and_a_copy_named_notebook_wins(
    tmp_path: Path,
) -> None:
    nb = notebooks.read(notebook(SGD_CELLS).encode(), "my_sgd.ipynb")
    parsed = extraction.parse(nb)
    assert parsed.defines("MySGD") and not parsed.defines("LR") and not parsed.defines("EPOCHS")
    aliased = extraction.parse(
        notebooks.read(
            notebook(
                [
                    code("class Logistic:\n    pass\nLR = Logistic"),
                    code("MyLinear = 3\nAlias = MyLinear"),
                    code("if True:\n    train = lambda *a: []\nelse:\n    train = None"),
                ]
            ).encode(),
            "hw.ipynb",
        )
    )
    assert aliased.defines("LR") and aliased.defines("train")
    assert not aliased.defines("MyLinear") and not aliased.defines("Alias")
    starred = extraction.parse(
        notebooks.read(
            notebook([code("from torch.nn import *\nMyLinear = Linear")]).encode(),
            "hw.ipynb",
        )
    )
    assert starred.defines("MyLinear")  # Linear may come from the star import
    provided = _provided(
        tmp_path,
        {
            "my_sgd.ipynb": notebook(SGD_CELLS),
            "scratch_lr (1).ipynb": notebook([code("class LR:\n    pass")]),
            "my_linear.ipynb": notebook(
                [code("class MyLinear:\n    pass"), code("def train(*a):\n    return []")]
            ),
            "training_loop-Copy1.ipynb": notebook([code("def train(*a):\n    return [1]")]),
            "notes.ipynb": notebook([code("my_linear = 1\nMyLinear = None")]),
        },
    )
    assert provided.notebook_of == {
        "my_linear": "my_linear.ipynb",
        "my_sgd": "my_sgd.ipynb",
        "scratch_lr": "scratch_lr (1).ipynb",
        "training_loop": "training_loop-Copy1.ipynb",
    }
    assert not any("notes.ipynb" in n for ns in provided.notes.values() for n in ns)
    # Only a constant named LR: not a candidate, so scratch_lr is simply not found.
    alone = tmp_path / "alone"
    alone.mkdir()
    assert "scratch_lr" not in _provided(alone, {"my_sgd.ipynb": notebook(SGD_CELLS)}).notebook_of


def test_copy_suffixes_are_stripped_from_notebook_names() -> None:
    from grader.sandbox.notebook_sources import _stem

    for name in (
        "scratch_lr (1).ipynb",
        "scratch_lr(2).ipynb",
        "scratch_lr-Copy1.ipynb",
        "scratch_lr - Copy.ipynb",
        "scratch_lr_copy.ipynb",
        "scratch_lr copy 2.ipynb",
        "scratch_lr-Copy1 (1).ipynb",
    ):
        assert _stem(name) == "scratch_lr", name
    assert _stem("copy.ipynb") == "copy" and _stem("scratch_lr_v2.ipynb") == "scratch_lr_v2"


def test_copies_named_for_their_exercise_grade_full_marks(grade_folder) -> None:
    graded = grade_folder(SUBMISSIONS / "notebook_copies")
    notebook_of = {a["name"]: a["notebook"] for a in graded.report["assignments"]}
    assert notebook_of == {
        "my_linear": "my_linear.ipynb",
        "training_loop": "training_loop (2).ipynb",
        "scratch_lr": "scratch_lr (1).ipynb",
        "my_sgd": "my_sgd.ipynb",
    }
    assert graded.report["score"] == graded.report["max_score"] == 40


def test_names_declared_global_in_kept_code_keep_their_top_level_binding() -> None:
    module = _module(
        [
            code("STEPS = 0\nCALLS, HISTORY = 0, []\nUNUSED = 1"),
            code(
                "class Counter:\n    def step(self):\n        global STEPS\n        STEPS += 1\n"
                "        return STEPS"
            ),
            code(
                "def train():\n    global CALLS, HISTORY\n    CALLS += 1\n"
                "    HISTORY = HISTORY + [CALLS]\n    return CALLS"
            ),
            code("def reset():\n    global UNUSED\n    UNUSED = 0"),
        ],
        {"Counter", "train"},
    )
    assert "STEPS = 0" in module.source and "CALLS, HISTORY = 0, []" in module.source
    assert "UNUSED" not in module.source
    namespace: dict = {}
    exec(compile(module.source, "generated", "exec"), namespace)
    assert namespace["Counter"]().step() == 1 and namespace["train"]() == 1


def test_a_global_only_assigned_by_graded_code_is_kept(grade_folder) -> None:
    graded = grade_folder(SUBMISSIONS / "notebook_globals", "-a", "my_sgd", "-a", "training_loop")
    assert graded.report["score"] == graded.report["max_score"] == 20


def test_a_block_with_a_shell_command_is_kept_without_the_command() -> None:
    cells = [
        code("import torch"),
        code(
            'if torch.cuda.is_available():\n    device = "cuda"\n    !nvidia-smi\nelse:\n'
            '    device = "cpu"\nprint("using", device)'
        ),
        code("try:\n    SCALE = 2\n    %env X=1\nexcept Exception:\n    SCALE = 1"),
        code("if True:\n    files = !ls\n    BATCH = len(files)"),
        code("def train(x):\n    return torch.tensor(x, device=device) * SCALE"),
    ]
    nb = notebooks.read(notebook(cells).encode(), "hw.ipynb")
    parsed = extraction.parse(nb)
    module = extraction.extract(parsed, {"train"})
    assert "device = 'cuda'" in module.source or 'device = "cuda"' in module.source
    assert "get_ipython" not in module.source and "SCALE = 2" in module.source
    namespace: dict = {}
    exec(compile(module.source, "generated", "exec"), namespace)
    assert namespace["train"](1.0).item() == 2.0
    rows = extraction.left_out(parsed, module.kept, set())
    assert (nb.cell(2), "!nvidia-smi", "magic") in rows
    assert (nb.cell(3), "%env X=1", "magic") in rows
    assert (nb.cell(2), 'print("using", device)', "experiment") in rows
    # `x = !ls` needs IPython to run: that block stays an experiment.
    assert [u.kind for u in parsed.units if u.cell.position == 4] == ["experiment"]


def test_blank_lines_before_a_cell_magic_and_dot_slash_writefile_paths(tmp_path: Path) -> None:
    def raw(source: str) -> dict:  # code() strips blank lines around a cell; students do not
        return {**code("x"), "source": source.splitlines(keepends=True)}

    provided = _provided(
        tmp_path,
        {
            "hw.ipynb": notebook(
                [
                    raw(
                        "\n%%writefile my_linear.py\nfrom torch import nn\nclass MyLinear:\n  pass"
                    ),
                    raw("\n\n%%time\ndef train(*args):\n    return []"),
                    raw("%%writefile './my_sgd.py'\nclass MySGD:\n    pass"),
                    raw("%%writefile data/helpers.py\nX = 1"),
                    raw("%%writefile my_linear.py\nclass Other:\n    pass"),
                    raw("%%writefile utils.py\nY = 2"),
                ]
            ),
            "my_linear.py": "class MyLinear:\n    pass\n",
            "utils.py": "Y = 1\n",
            "other.ipynb": notebook([raw("\n%%writefile my_linear.py\nclass MyLinear:\n  pass")]),
        },
    )
    assert provided.notebook_of == {"training_loop": "hw.ipynb", "my_sgd": "hw.ipynb"}
    assert provided.maps["my_sgd.py"].where(1) == (
        "hw.ipynb, cell 3 \"%%writefile './my_sgd.py'\"",
        2,
    )
    assert provided.maps["training_loop.py"].where(1) == (
        'hw.ipynb, cell 2 "%%time"',
        4,
    )
    (ignored,) = [p for p in provided.problems if "data/helpers.py" in p]
    assert ignored.startswith('hw.ipynb, cell 4 "%%writefile data/helpers.py": the grader')
    assert 'hw.ipynb, cell 6 "%%writefile utils.py": utils.py is in the submission already' in (
        " ".join(provided.problems)
    )
    assert (tmp_path / "utils.py").read_text() == "Y = 1\n"
    nb = notebooks.read(
        notebook(
            [raw("\n%%writefile my_linear.py\nfrom torch import nn\nclass MyLinear:\n  pass")]
        ).encode(),
        "hw.ipynb",
    )
    assert nb.file_text("my_linear.py") == (
        "from torch import nn\nclass MyLinear:\n  pass\n",
        [(1, 3), (1, 4), (1, 5)],
    )


def test_a_broken_cell_is_kept_only_where_it_may_hold_what_is_missing() -> None:
    linear = "from torch import nn\nclass MyLinear(nn.Module):\n    pass"
    demo = code("layer = MyLinear(3, 2)\nprint(layer(torch.randn(4, 3)).shape")
    prose = code("Test your MyLinear below: it maps (4, 3) to (4, 2)")
    module = _module([code(linear), demo, prose], {"MyLinear"})
    assert module.broken == [] and "layer" not in module.source and "Test your" not in module.source
    nb = notebooks.read(notebook([code(linear), demo, prose]).encode(), "hw.ipynb")
    parsed = extraction.parse(nb)
    rows = extraction.left_out(parsed, extraction.extract(parsed, {"MyLinear"}).kept, {1})
    assert {(r[0].position, r[2]) for r in rows} >= {(2, "syntax"), (3, "syntax")}
    # The definition itself is broken: the cell is kept, and the import says why.
    broken = _module([code("class MyLinear(nn.Module)\n    pass"), prose], {"MyLinear"})
    assert [c.position for c in broken.broken] == [1]
    # A name kept code reads that only a broken cell defines: that cell is kept too.
    reads = _module(
        [code("def train():\n    return SCALE"), code("SCALE = (2\n"), code("print(SCALE")],
        {"train"},
    )
    assert [c.position for c in reads.broken] == [2]


def test_a_prose_cell_mentioning_a_name_does_not_make_a_candidate(tmp_path: Path) -> None:
    provided = _provided(
        tmp_path,
        {
            "my_linear.ipynb": notebook(
                [
                    code("from torch import nn\nclass MyLinear(nn.Module):\n    pass"),
                    code("Below we train the layer with an LR of 0.1 (see the lecture)"),
                ]
            ),
            "hw.ipynb": notebook([code("class MySGD(\n    pass")]),
        },
    )
    assert provided.notebook_of == {"my_linear": "my_linear.ipynb", "my_sgd": "hw.ipynb"}


def test_syntax_errors_in_demo_cells_cost_nothing(grade_folder) -> None:
    graded = grade_folder(
        SUBMISSIONS / "notebook_demo_errors", "-a", "my_linear", "-a", "scratch_lr"
    )
    assert graded.assignment("my_linear")["score"] == 10
    assert graded.assignment("scratch_lr")["status"] == "missing"
    (info,) = graded.report["submission"]["notebooks"]
    assert [(r["cell"], r["reason"]) for r in info["left_out"]] == [
        (2, "syntax"),
        (3, "syntax"),
        (4, "syntax"),
    ]


def test_star_imports_are_kept_where_kept_code_reads_names_nothing_binds() -> None:
    cells = [
        code("import torch\nfrom torch.nn import *\nfrom math import *"),
        code(
            "class MyLinear(Module):\n    def __init__(self, n):\n        super().__init__()\n"
            "        self.w = Parameter(torch.ones(n) * sqrt(4))"
        ),
    ]
    module = _module(cells, {"MyLinear"})
    assert "from torch.nn import *" in module.source and "from math import *" in module.source
    namespace: dict = {}
    exec(compile(module.source, "generated", "exec"), namespace)
    assert namespace["MyLinear"](2).w.tolist() == [2.0, 2.0]
    # Nothing unbound is read: the star imports are left out, and listed.
    nb = notebooks.read(
        notebook(
            [code("from matplotlib.pyplot import *"), code("def train():\n    return 1")]
        ).encode(),
        "hw.ipynb",
    )
    parsed = extraction.parse(nb)
    plain = extraction.extract(parsed, {"train"})
    assert "matplotlib" not in plain.source
    rows = extraction.left_out(parsed, plain.kept, set())
    assert (nb.cell(1), "from matplotlib.pyplot import *", "unused") in rows


def test_lines_map_back_through_the_ipython_transformer() -> None:
    def raw(source: str) -> dict:
        return {**code("x"), "source": source.splitlines(keepends=True)}

    body = "class MyLinear(nn.Module):\n    def forward(self, x):\n        return x + self.bias\n"
    cells = [
        raw("\n\nimport torch\nfrom torch import nn\n%matplotlib inline\n\n" + body),
        raw("!pip install -q \\\n    torch torchvision\nimport math\nmath?\n\n" + body),
        raw("\n%%time\n!ls\n" + body),
    ]
    for position, line in ((1, 9), (2, 8), (3, 6)):
        nb = notebooks.read(notebook([cells[position - 1]]).encode(), "hw.ipynb")
        parsed = extraction.parse(nb)
        module = extraction.extract(parsed, {"MyLinear"})
        generated = module.source.split("\n").index("        return x + self.bias")
        assert module.origin[generated] == (1, line), position
        assert nb.cells[0].source.split("\n")[line - 1] == "        return x + self.bias"
        rows = extraction.left_out(parsed, module.kept, set())
        assert all(r[1] for r in rows), rows  # each left-out statement names its own line
    nb = notebooks.read(notebook([cells[1]]).encode(), "hw.ipynb")
    parsed = extraction.parse(nb)
    rows = extraction.left_out(parsed, extraction.extract(parsed, {"MyLinear"}).kept, set())
    assert {r[1] for r in rows} >= {"!pip install -q \\", "math?"}


def test_ipython_syntax_is_translated_within_a_bounded_budget() -> None:
    """IPython's transformer runs in the trusted process and costs the square of a cell's
    IPython lines: a cell with too many, or the lines beyond the notebook's budget, are left
    untranslated (so they do not parse and are left out like any broken cell), and the
    definitions around them are still graded."""
    per_cell = notebooks.MAX_IPYTHON_LINES_PER_CELL
    flood = code("\n".join(["!echo hi"] * (per_cell * 20)))
    within = [code("\n".join(["%env A=1"] * per_cell)) for _ in range(5)]
    layer = (REFERENCE / "my_linear.py").read_text()
    nb = notebooks.read(
        notebook([code("!pip install torch\n" + layer), flood, *within]).encode(), "hw.ipynb"
    )
    by_position = {c.cell.position: c for c in nb.code}
    assert "get_ipython()" in by_position[1].source  # a real cell keeps its translation
    assert by_position[2].source.startswith("!echo hi")  # too many lines: untouched
    translated = [p for p in range(3, 8) if "get_ipython()" in by_position[p].source]
    assert len(translated) == notebooks.MAX_IPYTHON_LINES // per_cell - 1  # one went to cell 1
    module = extraction.extract(extraction.parse(nb), {"MyLinear"})
    assert "class MyLinear" in module.source
