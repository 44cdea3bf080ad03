"""Central-difference gradient checking in float64."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


class GradcheckError(RuntimeError):
    """Analytic and numerical gradients disagree."""


def gradcheck(
    fn: Callable[..., Any],
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Compare autograd's gradients of ``fn(*inputs)`` with central differences.

    Every input that requires grad is copied to float64 (the caller's tensors are never
    touched); the outputs are reduced to a scalar with fixed random weights, so every
    output element is checked. Returns True, or raises ``GradcheckError`` naming the
    input, the worst entry and both values.
    """
    from ..tensor import Tensor
    from .grad import grad

    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    work = []
    for x in inputs:
        if isinstance(x, Tensor) and x.requires_grad:
            copy = Tensor._from_array(x.data.astype(np.float64, copy=True))
            copy.requires_grad = True
            work.append(copy)
        else:
            work.append(x)
    checked = [i for i, x in enumerate(work) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")

    rng = np.random.default_rng(seed)
    weights: list[Any] = []

    def scalar_output() -> Tensor:
        outs = fn(*work)
        outs = outs if isinstance(outs, tuple | list) else (outs,)
        total = None
        k = 0
        for o in outs:
            if not isinstance(o, Tensor) or o.data.dtype.kind != "f":
                continue
            if len(weights) <= k:
                w = rng.standard_normal(o.shape)
                weights.append(Tensor._from_array(_like(o.data, w)))
            term = (o * weights[k]).sum()
            total = term if total is None else total + term
            k += 1
        if total is None:
            raise ValueError("gradcheck: fn returned no floating-point Tensor")
        return total

    analytic = grad(scalar_output(), [work[i] for i in checked], allow_unused=True)
    for slot, i in enumerate(checked):
        x = work[i]
        a = analytic[slot]
        a = np.zeros(x.shape) if a is None else _host(a.data)
        numeric = np.zeros(x.shape)
        flat = x.data.reshape(-1)  # a view: perturb in place, restore exactly
        for j in range(flat.size):
            orig = flat[j].item()
            flat[j] = orig + eps
            plus = float(_host(scalar_output().data))
            flat[j] = orig - eps
            minus = float(_host(scalar_output().data))
            flat[j] = orig
            numeric.reshape(-1)[j] = (plus - minus) / (2 * eps)
        err = np.abs(a - numeric) - (atol + rtol * np.abs(numeric))
        if err.size and err.max() > 0:
            worst = np.unravel_index(int(np.argmax(err)), err.shape)
            raise GradcheckError(
                f"gradcheck: gradient of input {i} (shape {x.shape}) is wrong at index "
                f"{tuple(int(k) for k in worst)}: analytic {a[worst]:.10g}, numerical "
                f"{numeric[worst]:.10g} (atol={atol}, rtol={rtol}, eps={eps}); "
                f"{int((err > 0).sum())} of {err.size} entries outside tolerance"
            )
    return True


def _host(array: Any) -> np.ndarray:
    from ..backend import to_device

    return to_device(array, "cpu")


def _like(array: Any, host: np.ndarray) -> Any:
    from ..backend import device_of, to_device

    return to_device(host.astype(np.float64), device_of(array))
