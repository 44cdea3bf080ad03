"""The recurrent layers with their cell's step compiled (``layer.compile()``) give the
eager outputs and gradients in every configuration: float64 to 1e-12, float32 to rounding."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import minigrad as mg
from minigrad.compile.fuse import numba_available
from minigrad.nn import recurrent

CONFIGS = list(itertools.product(
    ["RNN", "LSTM", "GRU"], [1, 2], [False, True], [False, True], [False, True]))


def _run(layer_cls: str, layers: int, bidirectional: bool, batch_first: bool, lengths: bool,
         dtype: type, compiled: bool = False) -> list[np.ndarray]:
    mg.manual_seed(0)
    mg.set_default_dtype(dtype)
    layer = getattr(mg.nn, layer_cls)(3, 4, num_layers=layers, bidirectional=bidirectional,
                                      batch_first=batch_first).compile(compiled)
    rng = np.random.default_rng(0)
    shape = (2, 5, 3) if batch_first else (5, 2, 3)
    x = mg.tensor(rng.standard_normal(shape), dtype=dtype, requires_grad=True)
    out, state = layer(x, lengths=mg.tensor([5, 3]) if lengths else None)
    states = state if isinstance(state, tuple) else (state,)
    loss = (out * out).sum() + sum((s * s).sum() for s in states)
    loss.backward()
    grads = [p.grad.numpy() for _, p in layer.named_parameters()]
    return [out.numpy(), *(s.numpy() for s in states), x.grad.numpy(), *grads]


@pytest.mark.parametrize("layer_cls,layers,bidirectional,batch_first,lengths", CONFIGS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_steps_give_the_eager_layer(layer_cls: str, layers: int, bidirectional: bool,
                                             batch_first: bool, lengths: bool, dtype: type) -> None:
    args = (layer_cls, layers, bidirectional, batch_first, lengths, dtype)
    eager = _run(*args)
    recurrent._COMPILED.clear()
    recurrent._SCANS.clear()
    fast = _run(*args, compiled=True)
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    for a, b in zip(eager, fast, strict=True):
        np.testing.assert_allclose(b, a, **tol)
    cell = getattr(mg.nn, layer_cls).cell
    if numba_available():  # the whole loop ran as generated code
        scans = [s for (cls, *_), s in recurrent._SCANS.items() if cls is cell]
        assert scans and all(s.kernels and None not in s.kernels.values() for s in scans), \
            [s.reasons for s in scans]
    else:  # each step replayed its compiled plan
        compiled = [c for (cls, _), c in recurrent._COMPILED.items() if cls is cell]
        assert compiled and all(c.plans and None not in c.plans.values() for c in compiled)
