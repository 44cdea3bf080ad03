"""Thread-local recording state: grad mode, name scopes, anomaly detection."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _State(threading.local):
    def __init__(self) -> None:
        self.grad_enabled = True
        self.scope = ""  # the joined scope path, "" at top level
        self.anomaly = False


state = _State()


def is_grad_enabled() -> bool:
    """True when new ops are recorded for backward."""
    return state.grad_enabled


@contextmanager
def set_grad_enabled(mode: bool) -> Iterator[None]:
    """Turn recording on or off inside the block."""
    previous = state.grad_enabled
    state.grad_enabled = bool(mode)
    try:
        yield
    finally:
        state.grad_enabled = previous


def no_grad() -> AbstractContextManager[None]:
    """``with mg.no_grad():`` records nothing (inference, optimizer updates)."""
    return set_grad_enabled(False)


def enable_grad() -> AbstractContextManager[None]:
    """``with mg.enable_grad():`` records even inside ``no_grad``."""
    return set_grad_enabled(True)


class name_scope:  # noqa: N801 - used like a function, as in TensorFlow and PyTorch
    """Tag every op recorded inside with ``name``; scopes nest as ``outer/inner``.

    ``t.grad_fn.scope`` is the joined path, e.g. ``"lstm/l0/fwd/t3"``. A class rather
    than a generator: recurrent layers open one per time step, so it must be cheap.
    """

    __slots__ = ("name", "previous")

    def __init__(self, name: str) -> None:
        name = str(name)
        if not name or "/" in name:
            raise ValueError(f"name_scope: a scope name must be non-empty and have no '/', got {name!r}")
        self.name = name

    def __enter__(self) -> str:
        self.previous = previous = state.scope
        state.scope = f"{previous}/{self.name}" if previous else self.name
        return state.scope

    def __exit__(self, *exc: object) -> None:
        state.scope = self.previous


@contextmanager
def scope_path(path: str) -> Iterator[str]:
    """Record the ops inside under the scope path ``path`` (``"lstm/l0/fwd/t3"``), whatever
    scope is open now: a replay of ops recorded earlier gets their paths back. ``""`` is
    the top level. A ``name_scope`` inside extends it as usual; the old path comes back
    on exit, even on error."""
    path = str(path)
    if path and any(not part for part in path.split("/")):
        raise ValueError(f"scope_path: a path is names joined by '/', got {path!r}")
    previous = state.scope
    state.scope = path
    try:
        yield path
    finally:
        state.scope = previous


def current_scope() -> str:
    """The scope path new ops are tagged with."""
    return state.scope


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Raise at the first op whose forward or backward produces NaN or Inf,
    naming the op and its scope."""
    previous = state.anomaly
    state.anomaly = True
    try:
        yield
    finally:
        state.anomaly = previous


COMPOSITE_SUFFIX = "()"


def composite(fn: F) -> F:
    """Mark ``fn`` as a composite function: the ops it records sit in the scope
    ``fn.__name__ + "()"`` (``"cross_entropy()"``), so a picture can draw each call as
    one node and expand it on request. How ``fn`` computes is unchanged."""
    scope = fn.__name__ + COMPOSITE_SUFFIX

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with name_scope(scope):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
