"""torch's compile-cache folder, kept out of $TMPDIR: one owner for every grading process."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

TORCH_CACHE_VARIABLE = "TORCHINDUCTOR_CACHE_DIR"


def private_torch_cache() -> None:
    """torch makes a compile-cache folder on first use of an optimizer; unless the caller chose
    one, keep it in a folder this process owns and removes at exit, not in $TMPDIR."""
    if os.environ.get(TORCH_CACHE_VARIABLE):
        return
    folder = tempfile.mkdtemp(prefix="torchgrade-torch-cache-")
    os.environ[TORCH_CACHE_VARIABLE] = folder
    owner = os.getpid()

    def remove() -> None:
        if os.getpid() == owner:
            shutil.rmtree(folder, ignore_errors=True)

    atexit.register(remove)
