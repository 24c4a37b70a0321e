"""Results kept on disk between runs (trained digits weights, fine-tuned models): loaded where a readable file is
there, else made, then written atomically; of processes that need the same file at once, one makes it."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Callable, TypeVar

import torch

from accelbench.files import atomic_write, exclusive

T = TypeVar("T")


def load_or_make(
    path: Path,
    load: Callable[[object], T],
    make: Callable[[], tuple[T, object]],
    warning: type[Warning],
    what: str,
) -> T:
    """`load(payload)` of the torch file at `path` (tensors and plain values only); where it is missing, or it or
    `load` fails (truncated, corrupt, another architecture), `make()` -> (value, payload), the payload written
    atomically. Failures warn with `warning`, naming `what` and the file; a value that cannot be kept is used
    unkept. Processes that need the same file at once make it once (`accelbench.files.exclusive`)."""
    with exclusive(path):
        if path.exists():
            try:
                return load(torch.load(path, map_location="cpu", weights_only=True))
            except Exception as exc:  # make it again rather than crash
                warnings.warn(
                    f"kept {what} {path} could not be loaded ({type(exc).__name__}: {exc}); made again",
                    warning,
                    stacklevel=3,
                )
        value, payload = make()
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        try:
            atomic_write(path, buffer.getvalue())
        except OSError as exc:  # the value is good; only the file is lost (the next run makes it again)
            warnings.warn(f"{what} could not be kept at {path} ({exc}); used unkept", warning, stacklevel=3)
        return value
