"""Helpers for the recurrent/attention tests: load PyTorch fixtures, run modules with
swapped-in parameters (for gradcheck), walk recorded graphs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

import minigrad as mg

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def fixture_names(prefix: str) -> list[str]:
    """Stems of the committed fixtures whose names start with ``prefix``."""
    return sorted(p.stem for p in FIXTURES.glob(f"{prefix}*.npz"))


def load(stem: str) -> dict[str, np.ndarray]:
    """A fixture as a dict of arrays (no pickle)."""
    with np.load(FIXTURES / f"{stem}.npz", allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def state_dict(ref: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The PyTorch parameters stored under ``p.<name>``."""
    return {k[2:]: v for k, v in ref.items() if k.startswith("p.")}


def leaf(array: np.ndarray) -> mg.Tensor:
    """A float64 leaf that requires grad."""
    return mg.tensor(array, dtype=np.float64, requires_grad=True)


def weighted_loss(ref: dict[str, np.ndarray], outputs: dict[str, mg.Tensor]) -> mg.Tensor:
    """``sum_k (output_k * g.output_k)``: the functional the fixtures backpropagated."""
    loss = None
    for name, out in outputs.items():
        term = (out * mg.tensor(ref[f"g.{name}"], dtype=np.float64)).sum()
        loss = term if loss is None else loss + term
    return loss


def with_params(module: mg.nn.Module, names: list[str], fn: Callable[..., Any]) -> Callable:
    """``fn(*inputs)`` run with ``module``'s parameters ``names`` replaced by the trailing
    arguments, so gradcheck can perturb them (it copies its inputs)."""

    def run(*args: mg.Tensor) -> Any:
        split = len(args) - len(names)
        owners = []
        for name in names:
            owner = module
            *path, leaf_name = name.split(".")
            for part in path:
                owner = getattr(owner, part)
            owners.append((owner, leaf_name))
        saved = [owner._parameters[n] for owner, n in owners]
        try:
            for (owner, n), value in zip(owners, args[split:]):
                owner._parameters[n] = value
            return fn(*args[:split])
        finally:
            for (owner, n), value in zip(owners, saved):
                owner._parameters[n] = value

    return run


def graph_functions(root: mg.Tensor) -> Iterator[Any]:
    """Every Function recorded in the graph behind ``root`` (iterative walk)."""
    seen: set[int] = set()
    stack = [root.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen or isinstance(fn, mg.Tensor):
            continue
        seen.add(id(fn))
        yield fn
        for edge in fn.next or ():
            if edge is not None:
                stack.append(edge[0])
