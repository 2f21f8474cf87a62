"""Grade on the CPU, whatever the machine has: hide accelerators before torch counts them.

A submission written the lecture's way (`device = torch.device("cuda" if
torch.cuda.is_available() else "cpu")`, `.to(device)` everywhere) must grade the same on an
instructor's GPU workstation as on a laptop, and grading must be deterministic. So the grading
process hides every GPU from itself (and so from every process it forks) before torch first
asks how many there are: CUDA reads `CUDA_VISIBLE_DEVICES` once, when it initialises, and
ROCm reads `HIP_VISIBLE_DEVICES`, `ROCR_VISIBLE_DEVICES` and `GPU_DEVICE_ORDINAL`. An empty
value means "no device". The report records what was set (`environment.hidden_accelerators`).

`hide()` is called at the CLI's entry and in `grader.preload.prepare_torch`, which every
grading path (submit, reference, a batch worker) runs before the warm-up.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

VARIABLES = (
    "CUDA_VISIBLE_DEVICES",
    "HIP_VISIBLE_DEVICES",
    "ROCR_VISIBLE_DEVICES",
    "GPU_DEVICE_ORDINAL",
)


def hide(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Set every variable in `VARIABLES` to "" in `environ` (default: this process's)."""
    target = os.environ if environ is None else environ
    for name in VARIABLES:
        target[name] = ""
    return hidden(target)


def hidden(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """The accelerator variables as they stand: what the report records."""
    source = os.environ if environ is None else environ
    return {name: source[name] for name in VARIABLES if name in source}
