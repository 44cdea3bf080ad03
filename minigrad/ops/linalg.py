"""Matrix product (numpy's ``matmul`` semantics, batched and broadcast)."""

from __future__ import annotations

from math import prod
from typing import Any

from ..autograd.function import Function, OpError, grad_formula
from ..tensor import Tensor
from ._coerce import pair
from .broadcast import sum_to
from .elementwise import add
from .shape import permute


class MatMul(Function):
    """``a @ b`` (batched, broadcast); d/da = g @ b^T, d/db = a^T @ g.

    An N-D ``a`` times a 2-D ``b`` (``Linear`` on ``(T, B, H)``) is one 2-D product over
    the folded leading axes, forward and backward: the weight gradient is one
    ``(K, T*B) @ (T*B, N)`` product, not a ``(T, K, N)`` batch summed afterwards."""
    save_inputs = True

    def forward(self, a, b):
        if a.ndim > 2 and b.ndim == 2:
            return (a.reshape(prod(a.shape[:-1]), a.shape[-1]) @ b).reshape(*a.shape[:-1], b.shape[-1])
        return a @ b

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        if a.ndim > 2 and b.ndim == 2:
            return _folded_backward(a, b, g, na, nb)
        a2 = a if a.ndim > 1 else a.reshape(1, -1)
        b2 = b if b.ndim > 1 else b.reshape(-1, 1)
        if b.ndim == 1:  # (.., m) -> (.., m, 1); then a vector a adds the row axis
            g = g.unsqueeze(-1)
        if a.ndim == 1:
            g = g.unsqueeze(-2)
        ga = gb = None
        if na:
            ga = sum_to(grad_formula(_g_bT, g, b2), a2.shape).reshape(a.shape)
        if nb:
            gb = sum_to(grad_formula(_aT_g, a2, g), b2.shape).reshape(b.shape)
        return ga, gb


def _folded_backward(a: Tensor, b: Tensor, g: Tensor, na: bool, nb: bool) -> tuple:
    """Gradients of ``a (..., K) @ b (K, N)`` with the leading axes folded into rows."""
    ga = grad_formula(_folded_g_bT, g, b) if na else None
    gb = grad_formula(_folded_aT_g, a, g) if nb else None
    return ga, gb


def _folded_g_bT(g, b):
    m = prod(g.shape[:-1])
    return (g.reshape(m, g.shape[-1]) @ b.swapaxes(-1, -2)).reshape(*g.shape[:-1], b.shape[0])


def _folded_aT_g(a, g):
    m = prod(a.shape[:-1])
    return a.reshape(m, a.shape[-1]).swapaxes(-1, -2) @ g.reshape(m, g.shape[-1])


def _g_bT(g, b):
    return g @ b.swapaxes(-1, -2)


def _aT_g(a, g):
    return a.swapaxes(-1, -2) @ g


class Linear(Function):
    """``x @ w^T + b`` for x ``(..., in)``, w ``(out, in)``, b ``(out,)`` (optional): one
    2-D product over the folded leading axes, the bias added into its result in place
    (no second ``(..., out)`` array). d/dx = g @ w; d/dw = g^T @ x, made in w's own
    layout (no transposed copy on its way to ``w.grad``); d/db = g summed over rows."""
    save_inputs = True

    def forward(self, x, w, b=None):
        out = x.reshape(prod(x.shape[:-1]), x.shape[-1]) @ w.T
        if b is not None:
            out += b
        return out.reshape(*x.shape[:-1], w.shape[0])

    def backward(self, g):
        x, w = self.inputs[:2]
        need = self.needs_input_grad
        grads = (grad_formula(_linear_gx, g, w) if need[0] else None,
                 grad_formula(_linear_gw, g, x) if need[1] else None)
        if len(self.inputs) == 3:
            grads += (grad_formula(_linear_gb, g) if need[2] else None,)
        return grads


def _linear_gx(g, w):
    m = prod(g.shape[:-1])
    return (g.reshape(m, g.shape[-1]) @ w).reshape(*g.shape[:-1], w.shape[-1])


def _linear_gw(g, x):
    m = prod(g.shape[:-1])
    return g.reshape(m, g.shape[-1]).swapaxes(-1, -2) @ x.reshape(m, x.shape[-1])


def _linear_gb(g):
    return g.reshape(prod(g.shape[:-1]), g.shape[-1]).sum(axis=0)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight^T + bias`` as one op: x ``(..., in)``, weight ``(out, in)``, bias
    ``(out,)`` or None -> ``(..., out)``. Another bias shape, or operands whose dtypes
    differ, take the composed ``matmul(x, weight.T) + bias`` (its checks and errors)."""
    plain = (isinstance(x, Tensor) and isinstance(weight, Tensor) and x.ndim >= 1
             and weight.ndim == 2 and x.shape[-1] == weight.shape[1]
             and x.data.dtype == weight.data.dtype and x.data.dtype.kind == "f"
             and type(x.data) is type(weight.data))
    if bias is None:
        return Linear.apply(x, weight) if plain else matmul(x, permute(weight, 1, 0))
    if (plain and isinstance(bias, Tensor) and bias.shape == (weight.shape[0],)
            and bias.data.dtype == x.data.dtype and type(bias.data) is type(x.data)):
        return Linear.apply(x, weight, bias)
    return add(matmul(x, permute(weight, 1, 0)), bias)


def matmul(a: Any, b: Any) -> Tensor:
    """``a @ b``: 1-D operands are vectors, leading axes broadcast as batches."""
    a, b = pair(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise OpError(f"matmul: both operands need at least 1 dimension, got shapes {a.shape} and {b.shape}")
    da, db = a.data.dtype, b.data.dtype
    if da != db and da.kind == "f" and db.kind == "f":
        raise OpError(
            f"matmul: both operands need the same float dtype, got {da} {a.shape} and "
            f"{db} {b.shape}; convert one with .to(dtype) (as PyTorch, no silent widening)"
        )
    k_a = a.shape[-1]
    k_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if k_a != k_b:
        raise OpError(
            f"matmul: shapes {a.shape} and {b.shape} are not aligned: the last dimension of "
            f"the first ({k_a}) must equal the {'second-to-last' if b.ndim > 1 else 'only'} "
            f"dimension of the second ({k_b})"
        )
    return MatMul.apply(a, b)
