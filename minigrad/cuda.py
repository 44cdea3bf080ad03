"""``mg.cuda``: is a GPU usable from here?"""

from __future__ import annotations

from .backend import cuda_device_count, cuda_is_available


def is_available() -> bool:
    """True when CuPy is installed and sees a GPU."""
    return cuda_is_available()


def device_count() -> int:
    """Number of visible GPUs (0 without CuPy)."""
    return cuda_device_count()
