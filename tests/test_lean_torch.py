"""Deferring torch._dynamo and the DTensor unwrap changes no number, and loses no feature.

Each scenario runs in a fresh interpreter (this test process may have loaded dynamo already),
once with `lean_torch.ensure()` and once without, and prints the bits of every result.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

SCENARIO = textwrap.dedent(
    """
    import json, sys
    import torch
    if sys.argv[1] == "lean":
        from grader.sandbox import lean_torch
        status = lean_torch.ensure()
    else:
        status = {}

    def bits(tensor):
        return tensor.detach().contiguous().view(torch.int32).flatten().tolist()

    torch.manual_seed(0)
    out = {"status": status}
    for name, make in (
        ("sgd", lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True)),
        ("adam", lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.01)),
    ):
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
        optimizer = make(model.parameters())
        x, y = torch.randn(16, 4), torch.randn(16, 1)
        for _ in range(5):
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
        out[name] = [bits(p) for p in model.parameters()]
        out[name + "_state"] = [bits(t) for s in optimizer.state_dict()["state"].values()
                                for t in s.values() if torch.is_tensor(t)]
    w = torch.randn(3, 2, requires_grad=True)
    y = torch.randn(4, 3) @ w
    y.backward(torch.randn(4, 2))
    out["backward_gradient"] = bits(w.grad)
    y = torch.randn(4, 3) @ w
    (g,) = torch.autograd.grad((y * y).sum(0), [w], grad_outputs=torch.ones(2))
    out["autograd_grad"] = bits(g)
    try:
        y.detach().requires_grad_().backward(torch.ones(3))
        out["shape_mismatch"] = "no error"
    except RuntimeError as exc:
        out["shape_mismatch"] = str(exc)
    verdicts = []
    for a, b, kw in (
        (torch.ones(3), torch.ones(3) + 1e-7, {}),
        (torch.ones(3), torch.tensor([1.0, 2.0, 3.0]), {}),
        (torch.ones(2, 2), torch.ones(2), {}),
        (torch.ones(3), torch.ones(3, dtype=torch.float64), {}),
        (torch.ones(3), torch.ones(3) * 1.01, {"rtol": 0.1, "atol": 0.0}),
        ([torch.ones(1), 2.0], [torch.ones(1), 2.5], {}),
    ):
        try:
            torch.testing.assert_close(a, b, **kw)
            verdicts.append("close")
        except (AssertionError, TypeError, ValueError) as exc:
            verdicts.append(type(exc).__name__ + ": " + str(exc))
    out["assert_close"] = verdicts
    out["sympy_loaded"] = "sympy" in sys.modules
    out["dtensor_loaded"] = "torch.distributed.tensor" in sys.modules
    print(json.dumps(out))
    """
)

FEATURES = textwrap.dedent(
    """
    import json, sys, types
    import torch
    from grader.sandbox import lean_torch
    assert set(lean_torch.ensure().values()) == {"deferred"}
    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    optimizer.zero_grad()
    model(torch.ones(1, 2)).sum().backward()
    optimizer.step()
    before = type(sys.modules["torch._dynamo"]).__name__
    import inspect
    inspect.getmodule(optimizer.step)  # walks sys.modules: must not load dynamo
    after_walk = type(sys.modules["torch._dynamo"]).__name__
    compiled = torch.compile(lambda x: x * 2 + 1, backend="eager")
    value = compiled(torch.ones(2)).tolist()
    from torch.fx.experimental.symbolic_shapes import ShapeEnv
    shapes = sys.modules["torch.fx.experimental.symbolic_shapes"]
    import torch._dynamo.config as config
    real = sys.modules["torch._dynamo"]
    zero_grad = torch.optim.Optimizer.zero_grad.__wrapped__
    optimizer.zero_grad()
    optimizer.step()
    print(json.dumps({
        "before": before,
        "after_walk": after_walk,
        "compiled": value,
        "real_is_module": type(real) is types.ModuleType,
        "torch_attr_is_real": torch._dynamo is real,
        "config_once": config is real.config and sys.modules["torch._dynamo.config"] is config,
        "redisabled": getattr(zero_grad, "__dynamo_disable") is not zero_grad,
        "status": lean_torch.ensure(),
        "shapes_real": type(shapes) is types.ModuleType and shapes.ShapeEnv is ShapeEnv,
    }))
    """
)


def _run(script: str, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def both() -> tuple[dict, dict]:
    return _run(SCENARIO, "lean"), _run(SCENARIO, "plain")


def test_deferral_is_in_force_on_this_torch(both: tuple[dict, dict]) -> None:
    lean, plain = both
    assert set(lean["status"]) == {
        "torch._dynamo",
        "torch.fx.experimental.symbolic_shapes",
        "torch.distributed.tensor",
    }
    assert set(lean["status"].values()) == {"deferred"}
    assert not lean["sympy_loaded"] and not lean["dtensor_loaded"]
    assert plain["sympy_loaded"], "without the deferral the first optimizer loads sympy"


KEYS = ["sgd", "sgd_state", "adam", "adam_state", "backward_gradient", "autograd_grad"]


@pytest.mark.parametrize("key", [*KEYS, "shape_mismatch", "assert_close"])
def test_same_numbers_with_and_without(both: tuple[dict, dict], key: str) -> None:
    lean, plain = both
    assert lean[key] and lean[key] == plain[key]


def test_assert_close_verdicts_are_real(both: tuple[dict, dict]) -> None:
    verdicts = both[0]["assert_close"]
    assert verdicts[0] == "close" and verdicts[4] == "close"
    assert all(v.startswith("AssertionError") for v in (verdicts[1], verdicts[2], verdicts[5]))


def test_compile_and_other_dynamo_use_reach_the_real_module() -> None:
    seen = _run(FEATURES)
    assert seen["before"] == "_Deferred" and seen["after_walk"] == "_Deferred"
    assert seen["compiled"] == [3.0, 3.0]
    assert seen["real_is_module"] and seen["torch_attr_is_real"] and seen["config_once"]
    assert seen["redisabled"], "functions disabled by the stand-in are disabled by dynamo now"
    assert seen["shapes_real"]
    assert seen["status"]["torch._dynamo"] == "loaded on demand"
    assert seen["status"]["torch.fx.experimental.symbolic_shapes"] == "loaded on demand"


def test_unverified_torch_pays_the_imports() -> None:
    script = (
        "import json, torch; torch.__version__ = '9.9.9'\n"
        "from grader.sandbox import lean_torch; s = lean_torch.ensure()\n"
        "import sys; print(json.dumps([s, type(sys.modules.get('torch._dynamo')).__name__]))"
    )
    status, kind = _run(script)
    assert len(status) == 3 and all("9.9.9" in reason for reason in status.values())
    assert kind == "NoneType"
