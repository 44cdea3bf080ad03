"""An N-D input times a 2-D weight (``Linear`` on ``(T, B, H)``) is computed as one 2-D
product over the folded leading axes, forward and backward. Checked against the same
product computed per batch (numpy's batched matmul, float64) and central differences."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from conftest import DEVICES

import minigrad as mg
from minigrad.autograd import gradcheck


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 3, 2, 5), (1, 1, 5), (0, 2, 5)])
def test_nd_times_2d_matches_the_batched_product(device: str, shape: tuple) -> None:
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal(shape)
    b_np = rng.standard_normal((5, 7))
    g_np = rng.standard_normal(shape[:-1] + (7,))
    a = mg.tensor(a_np, dtype=np.float64, device=device, requires_grad=True)
    b = mg.tensor(b_np, dtype=np.float64, device=device, requires_grad=True)
    out = a @ b
    out.backward(mg.tensor(g_np, dtype=np.float64, device=device))
    # unfolded reference: numpy's batched product and a per-batch weight gradient summed
    np.testing.assert_allclose(out.numpy(), np.matmul(a_np, b_np), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.grad.numpy(), np.matmul(g_np, b_np.T), rtol=1e-12, atol=1e-12)
    gb = np.matmul(np.swapaxes(a_np, -1, -2), g_np).reshape(-1, 5, 7).sum(axis=0)
    np.testing.assert_allclose(b.grad.numpy(), gb, rtol=1e-12, atol=1e-12)
    assert a.grad.shape == a.shape and b.grad.shape == b.shape


def test_nd_times_2d_gradients_match_central_differences() -> None:
    rng = np.random.default_rng(1)
    a = mg.tensor(rng.standard_normal((2, 3, 4)), dtype=np.float64, requires_grad=True)
    b = mg.tensor(rng.standard_normal((4, 3)), dtype=np.float64, requires_grad=True)
    assert gradcheck(lambda x, w: (x @ w).tanh(), [a, b], eps=1e-6, atol=1e-6, rtol=1e-4)


def test_nd_times_2d_second_order_gradients_match_central_differences() -> None:
    rng = np.random.default_rng(2)
    a = mg.tensor(rng.standard_normal((2, 3, 4)), dtype=np.float64, requires_grad=True)
    b = mg.tensor(rng.standard_normal((4, 3)), dtype=np.float64, requires_grad=True)

    def grad_norm(x: mg.Tensor, w: mg.Tensor) -> mg.Tensor:
        (gw,) = mg.autograd.grad(((x @ w).tanh() ** 2).sum(), [w], create_graph=True)
        return (gw * gw).sum()

    assert gradcheck(grad_norm, [a, b], eps=1e-6, atol=1e-6, rtol=1e-4)


def test_linear_weight_gradient_allocates_no_batched_intermediate() -> None:
    """The weight gradient of ``Linear`` on ``(T, B, H)`` is one 2-D product: backward's
    peak allocation stays far below the ``(T, in, out)`` batch the unfolded product made."""
    t, b, n_in, n_out = 64, 2, 32, 256
    lin = mg.nn.Linear(n_in, n_out)
    x = mg.randn(t, b, n_in)
    loss = lin(x).sum()
    batched = t * n_in * n_out * 4
    tracemalloc.start()
    try:
        loss.backward()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lin.weight.grad.shape == (n_out, n_in)
    assert peak < batched / 4, (peak, batched)
