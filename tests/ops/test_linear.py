"""``ops.linear`` (``x @ W^T + b`` as one primitive, used by ``nn.Linear``, ``F.linear``
and the recurrent input projection): against numpy, the composed ``matmul`` + ``add``,
``autograd.grad`` and float64 central differences, first and second order, on the CPU
and the CuPy stand-in; odd inputs take the composed path with its checks."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DEVICES

import minigrad as mg
from minigrad.autograd import gradcheck


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(5,), (3, 5), (2, 3, 5), (0, 5), (2, 0, 5)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_numpy_and_the_composed_ops(device: str, shape: tuple, bias: bool) -> None:
    rng = np.random.default_rng(0)
    x_np, w_np, b_np = rng.standard_normal(shape), rng.standard_normal((4, 5)), rng.standard_normal(4)
    g_np = rng.standard_normal(shape[:-1] + (4,))
    grads = []
    for fused in (True, False):
        x, w, b = (mg.tensor(a, dtype=np.float64, device=device, requires_grad=True)
                   for a in (x_np, w_np, b_np))
        out = (mg.ops.linear(x, w, b if bias else None) if fused
               else mg.ops.matmul(x, w.T) + (b if bias else 0.0))
        assert (out.grad_fn.name == "Linear") == fused
        np.testing.assert_allclose(out.numpy(), x_np @ w_np.T + (b_np if bias else 0.0),
                                   rtol=1e-12, atol=1e-12)
        out.backward(mg.tensor(g_np, dtype=np.float64, device=device))
        grads.append([x.grad.numpy(), w.grad.numpy()] + ([b.grad.numpy()] if bias else []))
        assert b.grad is None or bias
    for fused_g, composed_g in zip(*grads, strict=True):
        np.testing.assert_allclose(fused_g, composed_g, rtol=1e-12, atol=1e-12)
    # .backward() against autograd.grad
    x, w, b = (mg.tensor(a, dtype=np.float64, device=device, requires_grad=True)
               for a in (x_np, w_np, b_np))
    got = mg.autograd.grad(mg.ops.linear(x, w, b if bias else None),
                           [x, w] + ([b] if bias else []), mg.tensor(g_np, dtype=np.float64, device=device))
    for a, e in zip(got, grads[0], strict=True):
        np.testing.assert_allclose(a.numpy(), e, rtol=1e-12, atol=1e-12)


def test_linear_gradients_first_and_second_order_match_central_differences() -> None:
    rng = np.random.default_rng(1)
    x, w, b = (mg.tensor(rng.standard_normal(s), dtype=np.float64, requires_grad=True)
               for s in ((2, 3, 4), (5, 4), (5,)))
    assert gradcheck(lambda x, w, b: mg.ops.linear(x, w, b).tanh(), [x, w, b],
                     eps=1e-6, atol=1e-6, rtol=1e-4)

    def grad_norm(x: mg.Tensor, w: mg.Tensor, b: mg.Tensor) -> mg.Tensor:
        gx, gw = mg.autograd.grad((mg.ops.linear(x, w, b).tanh() ** 2).sum(), [x, w],
                                  create_graph=True)
        return (gx * gx).sum() + (gw * gw).sum()

    assert gradcheck(grad_norm, [x, w, b], eps=1e-6, atol=1e-6, rtol=1e-4)


def test_the_weight_gradient_is_contiguous_in_the_weight_layout() -> None:
    x = mg.randn(6, 3, requires_grad=True)
    lin = mg.nn.Linear(3, 2)
    lin(x).sum().backward()
    assert lin.weight.grad.shape == (2, 3) and lin.weight.grad.data.flags.c_contiguous


def test_odd_operands_take_the_composed_ops_and_their_errors() -> None:
    x, w, b = mg.randn(2, 3), mg.randn(4, 3, requires_grad=True), mg.randn(2, 4)
    out = mg.ops.linear(x, w, b)  # a bias that is not (out,): the broadcast add
    assert out.grad_fn.name == "Add"
    np.testing.assert_allclose(out.numpy(), x.numpy() @ w.numpy().T + b.numpy(), rtol=1e-6)
    with pytest.raises(mg.ops.linalg.OpError, match="matmul"):
        mg.ops.linear(mg.randn(2, 5), w)  # 5 features against a weight expecting 3
    with pytest.raises(mg.ops.linalg.OpError, match="same float dtype"):
        mg.ops.linear(x.to(np.float64), w)
    x0, w0 = x.numpy().copy(), w.numpy().copy()
    with pytest.raises(ValueError, match="linear: input has 5 features"):
        mg.nn.functional.linear(mg.randn(2, 5), w)
    np.testing.assert_array_equal(x.numpy(), x0)
    np.testing.assert_array_equal(w.numpy(), w0)
