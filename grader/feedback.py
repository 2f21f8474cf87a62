"""Feedback that names the mistake: judge-side helpers that turn observations into advice.

Each helper returns a sentence from the catalogue (en, ko) or "" when it recognises nothing:
a misleading hint is worse than none, so every helper stays silent when two explanations fit.

- `near_miss` / `near_miss_help`: the wanted name is missing but a close one exists (case,
  singular or plural, a typo within a small edit distance, underscores).
  "my_linear.py defines `MyLiner`, not `MyLinear`: a typo?". The names come from the
  sandbox as data (`grader.sandbox.probing.names_of`, or an `AttributeError`'s owner, which
  the sandbox describes by itself, so every check gets this without code of its own).
- `renamed_arguments` / `renamed_argument_help`: a parameter renamed in a signature
  (`grader.sandbox.probing.signature_of` returns the names).
- `scale_factor` / `scale_hint`: the values are the expected ones times one of a few named
  factors (`{"1/m": 1 / m, "m": m, "-1": -1, "lr": lr}`), within the tolerance policy.
- `explain_exception`: what to fix for an exception whose cause is common (dtype, in-place
  update of a leaf, matmul shapes, a None grad, devices, a hard-coded `.cuda()`). The judge
  applies it to every exception a probe reports.
- `describe_calls` / `describe_call_totals`: a call log compared with the expected pattern,
  in words ("`step()` ran 5 times in epoch 1; once per epoch over the whole batch is
  expected").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch

from grader import tolerance
from grader.messages import say

Reason = Literal["case", "plural", "underscore", "typo"]


@dataclass(frozen=True)
class NearMiss:
    """`found` is what the student wrote where the contract wants `wanted`."""

    wanted: str
    found: str
    reason: Reason


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, swaps."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def _singular(word: str) -> str:
    lowered = word.casefold()
    if lowered.endswith("ies") and len(lowered) > 3:
        return lowered[:-3] + "y"
    if lowered.endswith("es") and lowered[:-2].endswith(("s", "x", "ch", "sh")):
        return lowered[:-2]
    if lowered.endswith("s") and not lowered.endswith("ss"):
        return lowered[:-1]
    return lowered


def _allowed_distance(wanted: str) -> int:
    return 1 if len(wanted) <= 5 else 2


def _reason(wanted: str, found: str) -> Reason | None:
    if wanted == found:
        return None
    if wanted.casefold() == found.casefold():
        return "case"
    if _singular(wanted) == _singular(found):
        return "plural"
    if wanted.replace("_", "").casefold() == found.replace("_", "").casefold():
        return "underscore"
    if edit_distance(wanted.casefold(), found.casefold()) <= _allowed_distance(wanted):
        return "typo"
    return None


_RANK = {"case": 0, "plural": 1, "underscore": 2, "typo": 3}


def near_miss(wanted: str, available: Iterable[str]) -> NearMiss | None:
    """The one name in `available` that is close to `wanted`, or None (none, or a tie)."""
    if not wanted:
        return None
    best: list[tuple[int, int, str, Reason]] = []
    for name in set(available):
        if not isinstance(name, str) or name == wanted or name.startswith("__"):
            continue
        reason = _reason(wanted, name)
        if reason is None:
            continue
        distance = edit_distance(wanted.casefold(), name.casefold())
        best.append((_RANK[reason], distance, name, reason))
    if not best:
        return None
    best.sort()
    if len(best) > 1 and best[0][:2] == best[1][:2]:
        return None
    return NearMiss(wanted, best[0][2], best[0][3])


def near_miss_help(wanted: str, available: Iterable[str], owner: str = "", file: str = "") -> str:
    """The sentence for a near miss, or "": `file` for a module's names, `owner` for an
    object's ("`MyLinear` has `weight`, not `weights`: singular or plural?")."""
    miss = near_miss(wanted, available)
    if miss is None:
        return ""
    question = say(f"near_miss_{miss.reason}")
    if file:
        return say(
            "near_miss_module", file=file, found=miss.found, wanted=wanted, question=question
        )
    return say(
        "near_miss_attribute",
        owner=owner or say("the_object"),
        found=miss.found,
        wanted=wanted,
        question=question,
    )


def renamed_arguments(wanted: Sequence[str], actual: Sequence[str]) -> list[tuple[str, str]]:
    """(wanted, actual) for each position where a parameter has another, close, name.

    `self` is ignored on both sides; a parameter missing or extra is not a rename.
    """
    want = [n for n in wanted if n != "self"]
    got = [n for n in actual if n != "self"]
    pairs = []
    for position, name in enumerate(want):
        if (
            position < len(got)
            and got[position] != name
            and name not in got
            and _reason(name, got[position]) is not None
        ):
            pairs.append((name, got[position]))
    return pairs


def renamed_argument_help(function: str, wanted: Sequence[str], actual: Sequence[str]) -> str:
    """ "`__init__` names its argument `in_feature`; the contract calls it `in_features`"."""
    pairs = renamed_arguments(wanted, actual)
    if not pairs:
        return ""
    name, found = pairs[0]
    return say("renamed_argument", function=function, found=found, wanted=name)


def _as_double(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value.detach().double()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return torch.tensor(float(value), dtype=torch.float64)
    return None


def scale_factor(
    actual: Any,
    expected: Any,
    candidates: Mapping[str, float],
    kind: str = "values",
    steps: int = 1,
) -> str | None:
    """The name of the one factor `f` with `actual ≈ f · expected` under the policy, or None.

    None as well when `expected` is (nearly) zero everywhere, when `actual` already equals
    `expected`, or when factors of different values fit (the numbers cannot tell them apart).
    """
    got, want = _as_double(actual), _as_double(expected)
    if got is None or want is None or got.shape != want.shape or want.numel() == 0:
        return None
    dtype = expected.dtype if isinstance(expected, torch.Tensor) else torch.float32
    bound = tolerance.policy(kind, dtype, steps)
    if float(want.abs().max()) <= 10 * bound.atol:
        return None
    if tolerance.is_close(got, want, kind, steps, bound.rtol, bound.atol):
        return None
    matches: dict[float, list[str]] = {}
    for name, factor in candidates.items():
        factor = float(factor)
        if factor == 1.0:
            continue
        scaled = want * factor
        if tolerance.is_close(got, scaled, kind, steps, bound.rtol, bound.atol):
            matches.setdefault(factor, []).append(name)
    if len(matches) != 1:
        return None
    return " = ".join(next(iter(matches.values())))


def scale_hint(
    actual: Any,
    expected: Any,
    candidates: Mapping[str, float],
    kind: str = "values",
    steps: int = 1,
) -> str:
    """The sentence for `scale_factor`: a flipped sign, or "times {factor}"; else ""."""
    name = scale_factor(actual, expected, candidates, kind, steps)
    if name is None:
        return ""
    factor = float(next(v for k, v in candidates.items() if k == name.split(" = ")[0]))
    if factor == -1.0:
        return say("scale_sign")
    return say("scale_factor", factor=name)


# Exceptions whose cause is common: (catalogue key, exception type names or (), pattern).
_EXCEPTIONS: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = (
    (
        "fix_cuda",
        (),
        re.compile(
            r"not compiled with CUDA|no NVIDIA driver|No CUDA GPUs are available|"
            r"CUDA driver initialization failed|cuda.*(unavailable|not available)|"
            r"HIP.*not available|no HIP GPUs|not compiled with (ROCm|HIP|MPS)|"
            r"Attempting to deserialize object on a CUDA device",
            re.IGNORECASE,
        ),
    ),
    (
        "fix_device",
        ("RuntimeError",),
        re.compile(r"Expected all tensors to be on the same device|device type.*cuda", re.I),
    ),
    (
        "fix_leaf_in_place",
        ("RuntimeError",),
        re.compile(r"leaf Variable that requires grad .*in-place|a view of a leaf Variable"),
    ),
    (
        "fix_dtype",
        ("RuntimeError", "TypeError"),
        re.compile(
            r"(same dtype|expected scalar type (Float|Double)|found dtype (Double|Float)|"
            r"expected (m1|mat1) and (m2|mat2) to have the same dtype|"
            r"dtype.*(Double|Float).*(Float|Double)|result type Double can't be cast)",
            re.IGNORECASE,
        ),
    ),
    (
        "fix_matmul_shape",
        ("RuntimeError",),
        re.compile(
            r"shapes cannot be multiplied|size mismatch|"
            r"Expected size for first two dimensions of batch2|"
            r"both arguments to matmul need to be at least 1D|"
            r"inconsistent tensor size|mat2 must be a matrix|self must be a matrix",
            re.I,
        ),
    ),
    (
        "fix_broadcast",
        ("RuntimeError",),
        re.compile(r"The size of tensor a \(\d+\) must match the size of tensor b \(\d+\)"),
    ),
    (
        "fix_no_grad_fn",
        ("RuntimeError",),
        re.compile(r"does not require grad and does not have a grad_fn"),
    ),
    (
        "fix_backward_twice",
        ("RuntimeError",),
        re.compile(r"backward through the graph a second time"),
    ),
    (
        "fix_item_not_scalar",
        ("RuntimeError", "ValueError"),
        re.compile(r"cannot be converted to Scalar|only one element tensors can be converted"),
    ),
)
_NONE_GRAD = re.compile(r"NoneType")


def explain_exception(kind: str, message: str, code: Sequence[str] = ()) -> str:
    """What to fix for an exception of type `kind` with `message`, or "" when not common.

    `code` is the student's source lines from the traceback (innermost last): a `NoneType`
    error is blamed on a missing `.grad` only when the line that raised touches `.grad`.
    """
    for key, kinds, pattern in _EXCEPTIONS:
        if (not kinds or kind in kinds) and pattern.search(message):
            return say(key)
    last = code[-1] if code else ""
    if kind in ("TypeError", "AttributeError") and _NONE_GRAD.search(message) and ".grad" in last:
        return say("fix_none_grad")
    return ""


def _times(count: int) -> str:
    if count == 1:
        return say("calls_once")
    if count == 2:
        return say("calls_twice")
    return say("calls_times", count=count)


def _label(event: str, labels: Mapping[str, str] | None) -> str:
    if labels and event in labels:
        return labels[event]
    return f"`{event}()`"


def describe_calls(
    epochs: Sequence[Sequence[str]],
    pattern: Sequence[str],
    labels: Mapping[str, str] | None = None,
) -> str:
    """The first way the per-epoch call log `epochs` differs from `pattern`, in words; or "".

    `pattern` is one epoch's calls in order (`["zero_grad", "forward", "criterion",
    "backward", "step"]`); an event may repeat in it. `labels` names events for the reader
    (default "`step()`"). Counts come first (a missing or doubled call), then the order.
    """
    expected_counts: dict[str, int] = {}
    for event in pattern:
        expected_counts[event] = expected_counts.get(event, 0) + 1
    for number, events in enumerate(epochs, start=1):
        for event, want in expected_counts.items():
            got = sum(1 for e in events if e == event)
            if got == want:
                continue
            if got == 0:
                return say("calls_never", name=_label(event, labels), epoch=number)
            return say(
                "calls_count",
                name=_label(event, labels),
                count=_times(got),
                epoch=number,
                expected=_times(want),
            )
        relevant = [e for e in events if e in expected_counts]
        if relevant != list(pattern):
            return say(
                "calls_order",
                epoch=number,
                actual=" → ".join(_label(e, labels) for e in relevant),
                expected=" → ".join(_label(e, labels) for e in pattern),
            )
    return ""


def describe_call_totals(
    events: Sequence[str],
    pattern: Sequence[str],
    epochs: int,
    labels: Mapping[str, str] | None = None,
) -> str:
    """For a flat log that cannot be split by epoch: which call ran too often or too rarely
    over `epochs` epochs ("`step()` ran 10 times over 5 epochs; once per epoch is expected")."""
    expected_counts: dict[str, int] = {}
    for event in pattern:
        expected_counts[event] = expected_counts.get(event, 0) + 1
    for event, want in expected_counts.items():
        got = sum(1 for e in events if e == event)
        if got != want * epochs:
            return say(
                "calls_total",
                name=_label(event, labels),
                count=_times(got),
                epochs=epochs,
                expected=_times(want),
            )
    return ""
