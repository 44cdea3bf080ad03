"""Table-driven op harness: every op's value against NumPy and its gradient against
float64 central differences, over random (broadcast) shapes drawn by hypothesis.

Adding an op means adding one row to a table below. Every row runs on every device
(``cuda`` on a GPU, or on the strict CuPy stand-in of tests/cupy_standin without one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from conftest import DEVICES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import minigrad as mg
from minigrad.autograd import gradcheck

ON_DEVICES = pytest.mark.parametrize("device", DEVICES)

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _np_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _np_log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def _positive(x: np.ndarray) -> np.ndarray:
    return np.abs(x) + 0.5


def _away_from_zero(x: np.ndarray) -> np.ndarray:
    return np.where(x >= 0, x + 0.3, x - 0.3)


def _away_from_clip(x: np.ndarray) -> np.ndarray:
    # keep values off the kinks at +-0.5 where the derivative jumps
    return np.where(np.abs(np.abs(x) - 0.5) < 0.05, x + 0.2, x)


@dataclass(frozen=True)
class Unary:
    name: str
    mg_fn: Callable
    np_fn: Callable
    domain: Callable = lambda x: x


UNARY = [
    Unary("exp", mg.exp, np.exp),
    Unary("log", mg.log, np.log, _positive),
    Unary("sqrt", mg.sqrt, np.sqrt, _positive),
    Unary("tanh", mg.tanh, np.tanh),
    Unary("sigmoid", mg.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    Unary("relu", mg.relu, lambda x: np.maximum(x, 0), _away_from_zero),
    Unary("abs", mg.abs, np.abs, _away_from_zero),
    Unary("neg", lambda t: -t, np.negative),
    Unary("clip", lambda t: mg.clip(t, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), _away_from_clip),
    Unary("clip_min_only", lambda t: t.clip(min=0.1), lambda x: np.clip(x, 0.1, None), _away_from_clip),
    Unary("square", lambda t: t**2, np.square),
    Unary("cube", lambda t: t**3, lambda x: x**3),
    Unary("pow_half", lambda t: t**0.5, np.sqrt, _positive),
    Unary("rpow", lambda t: 2.0**t, lambda x: 2.0**x),
    Unary("scalar_arith", lambda t: (3.0 - t) * 2 / 4 + 1, lambda x: (3.0 - x) * 2 / 4 + 1),
    Unary("rdiv", lambda t: 1.0 / t, lambda x: 1.0 / x, _away_from_zero),
]

AXIS_OPS = [
    ("sum", lambda t, a, k: t.sum(a, k), lambda x, a, k: x.sum(axis=a, keepdims=k)),
    ("mean", lambda t, a, k: t.mean(a, k), lambda x, a, k: x.mean(axis=a, keepdims=k)),
    ("max", lambda t, a, k: t.max(a, k), lambda x, a, k: x.max(axis=a, keepdims=k)),
    ("min", lambda t, a, k: t.min(a, k), lambda x, a, k: x.min(axis=a, keepdims=k)),
    ("var", lambda t, a, k: t.var(a, k), lambda x, a, k: x.var(axis=a, keepdims=k, ddof=1)),
]

SOFTMAX_OPS = [
    ("softmax", lambda t, a: t.softmax(a), _np_softmax),
    ("log_softmax", lambda t, a: t.log_softmax(a), _np_log_softmax),
    ("logsumexp", lambda t, a: mg.logsumexp(t, a),
     lambda x, a: np.log(np.exp(x).sum(axis=a))),
]

BINARY = [
    ("add", lambda a, b: a + b, np.add, None),
    ("sub", lambda a, b: a - b, np.subtract, None),
    ("mul", lambda a, b: a * b, np.multiply, None),
    ("div", lambda a, b: a / b, np.divide, _away_from_zero),
    ("pow", lambda a, b: a**b, np.power, None),
    ("where", lambda a, b: mg.where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b), None),
    ("maximum", mg.maximum, np.maximum, None),
    ("minimum", mg.minimum, np.minimum, None),
]


def _data(seed: int, shape: tuple[int, ...], domain: Callable = lambda x: x) -> np.ndarray:
    return domain(np.random.default_rng(seed).standard_normal(shape))


def _t(x: np.ndarray, device: str = "cpu") -> mg.Tensor:
    return mg.tensor(x, dtype=np.float64, device=device, requires_grad=True)


def _check(mg_fn: Callable, np_fn: Callable, arrays: list[np.ndarray], device: str) -> None:
    """Value against NumPy; gradient three ways: ``.backward()`` leaf grads equal
    ``autograd.grad``'s, which match float64 central differences (``gradcheck``)."""
    tensors = [_t(a, device) for a in arrays]
    out = mg_fn(*tensors)
    np.testing.assert_allclose(out.numpy(), np_fn(*arrays), rtol=1e-10, atol=1e-12)
    assert out.dtype == np.float64
    assert out.device == device
    assert gradcheck(mg_fn, tensors, eps=1e-6, atol=1e-6, rtol=1e-4)
    _check_backward_matches_grad(out, tensors)


def _check_backward_matches_grad(out: mg.Tensor, tensors: list[mg.Tensor]) -> None:
    weights = mg.tensor(np.random.default_rng(7).standard_normal(out.shape), dtype=np.float64,
                        device=out.device)
    expected = mg.autograd.grad(out, tensors, grad_outputs=weights, retain_graph=True,
                                allow_unused=True)
    out.backward(weights)
    for i, (t, g) in enumerate(zip(tensors, expected)):
        want = np.zeros(t.shape) if g is None else g.numpy()
        got = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12,
                                   err_msg=f"input {i}: .backward() differs from autograd.grad")


@ON_DEVICES
@pytest.mark.parametrize("op", UNARY, ids=lambda o: o.name)
@SETTINGS
@given(shape=array_shapes(min_dims=0, max_dims=3, max_side=4), seed=st.integers(0, 2**16))
def test_unary(device: str, op: Unary, shape: tuple[int, ...], seed: int) -> None:
    _check(op.mg_fn, op.np_fn, [_data(seed, shape, op.domain)], device)


@ON_DEVICES
@pytest.mark.parametrize("name,mg_fn,np_fn", AXIS_OPS, ids=[o[0] for o in AXIS_OPS])
@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**16), keepdims=st.booleans())
def test_reduction(device: str, name: str, mg_fn: Callable, np_fn: Callable, data: st.DataObject,
                   seed: int, keepdims: bool) -> None:
    shape = data.draw(array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4))
    ndim = len(shape)
    axis = data.draw(st.one_of(
        st.none(),
        st.integers(-ndim, ndim - 1),
        st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple),
    ))
    x = _data(seed, shape)
    _check(lambda t: mg_fn(t, axis, keepdims), lambda a: np_fn(a, axis, keepdims), [x], device)


@ON_DEVICES
@pytest.mark.parametrize("name,mg_fn,np_fn", SOFTMAX_OPS, ids=[o[0] for o in SOFTMAX_OPS])
@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_softmax_family(device: str, name: str, mg_fn: Callable, np_fn: Callable, data: st.DataObject,
                        seed: int) -> None:
    shape = data.draw(array_shapes(min_dims=1, max_dims=3, max_side=4))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = _data(seed, shape) * 3
    _check(lambda t: mg_fn(t, axis), lambda a: np_fn(a, axis), [x], device)


@ON_DEVICES
@pytest.mark.parametrize("name,mg_fn,np_fn,domain_b", BINARY, ids=[o[0] for o in BINARY])
@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       seed=st.integers(0, 2**16))
def test_binary_broadcast(device: str, name: str, mg_fn: Callable, np_fn: Callable, domain_b, shapes,
                          seed: int) -> None:
    sa, sb = shapes.input_shapes
    a = _data(seed, sa, _positive if name == "pow" else _away_from_zero)
    b = _data(seed + 1, sb, domain_b or (lambda x: x))
    _check(mg_fn, np_fn, [a, b], device)


@ON_DEVICES
@SETTINGS
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_matmul_shapes(device: str, data: st.DataObject, seed: int) -> None:
    m, k, n = (data.draw(st.integers(1, 3)) for _ in range(3))
    batch = data.draw(mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=2))
    kind = data.draw(st.sampled_from(["vv", "mv", "vm", "mm", "batched"]))
    shapes = {
        "vv": ((k,), (k,)),
        "mv": ((m, k), (k,)),
        "vm": ((k,), (k, n)),
        "mm": ((m, k), (k, n)),
        "batched": (batch.input_shapes[0] + (m, k), batch.input_shapes[1] + (k, n)),
    }[kind]
    a, b = _data(seed, shapes[0]), _data(seed + 1, shapes[1])
    _check(lambda x, y: x @ y, np.matmul, [a, b], device)


SHAPE_CASES = [
    ("reshape", (2, 3, 4), lambda t: t.reshape(4, -1), lambda x: x.reshape(4, -1)),
    ("reshape_tuple", (6,), lambda t: t.reshape((2, 3)), lambda x: x.reshape(2, 3)),
    ("transpose", (2, 3, 4), lambda t: t.transpose(2, 0, 1), lambda x: x.transpose(2, 0, 1)),
    ("transpose_pair", (2, 3, 4), lambda t: t.transpose(0, 2), lambda x: x.swapaxes(0, 2)),
    ("permute", (2, 3, 4), lambda t: t.permute(1, 2, 0), lambda x: x.transpose(1, 2, 0)),
    ("T", (3, 4), lambda t: t.T, lambda x: x.T),
    ("swapaxes_neg", (2, 3, 4), lambda t: t.swapaxes(-1, -3), lambda x: x.swapaxes(-1, -3)),
    ("unsqueeze", (2, 3), lambda t: t.unsqueeze(-1), lambda x: x[..., None]),
    ("squeeze", (2, 1, 3, 1), lambda t: t.squeeze(), lambda x: x.squeeze()),
    ("squeeze_axis", (2, 1, 3), lambda t: t.squeeze(1), lambda x: x.squeeze(1)),
    ("flatten", (2, 3, 4), lambda t: t.flatten(1), lambda x: x.reshape(2, 12)),
    ("expand", (3, 1), lambda t: t.expand(2, 3, 4), lambda x: np.broadcast_to(x, (2, 3, 4))),
    ("expand_keep", (3, 1), lambda t: t.expand(-1, 5), lambda x: np.broadcast_to(x, (3, 5))),
    ("broadcast_to", (1, 4), lambda t: mg.broadcast_to(t, (3, 4)), lambda x: np.broadcast_to(x, (3, 4))),
    ("getitem_int", (3, 4), lambda t: t[1], lambda x: x[1]),
    ("getitem_slice", (5, 4), lambda t: t[1:4:2, ::-1], lambda x: x[1:4:2, ::-1]),
    ("getitem_none_ellipsis", (2, 3, 4), lambda t: t[..., None, 1], lambda x: x[..., None, 1]),
    ("getitem_int_array_repeats", (4, 3), lambda t: t[mg.tensor([0, 2, 0, 0], device=t.device)],
     lambda x: x[[0, 2, 0, 0]]),
    ("getitem_two_arrays", (4, 3), lambda t: t[[1, 1, 3], [0, 0, 2]],
     lambda x: x[[1, 1, 3], [0, 0, 2]]),
    ("getitem_bool_mask", (3, 4), lambda t: t[t > 0], lambda x: x[x > 0]),
    ("getitem_mixed", (3, 4, 2), lambda t: t[1:, [0, 0, 3]], lambda x: x[1:, [0, 0, 3]]),
    ("cat_axis1", (2, 3), lambda t: mg.cat([t, t * 2, t[:, :1]], axis=1),
     lambda x: np.concatenate([x, x * 2, x[:, :1]], axis=1)),
    ("stack_neg", (2, 3), lambda t: mg.stack([t, t.exp()], axis=-1),
     lambda x: np.stack([x, np.exp(x)], axis=-1)),
    ("split_int", (7, 2), lambda t: mg.cat([p * (i + 1) for i, p in enumerate(mg.split(t, 3))]),
     lambda x: np.concatenate([x[:3], x[3:6] * 2, x[6:] * 3])),
    ("split_list_unused_piece", (2, 6), lambda t: mg.split(t, [1, 2, 3], axis=1)[2].exp(),
     lambda x: np.exp(x[:, 3:])),
    ("chunk", (2, 8), lambda t: mg.chunk(t, 4, axis=-1)[1] * mg.chunk(t, 4, axis=-1)[3],
     lambda x: x[:, 2:4] * x[:, 6:8]),
    ("masked_fill", (3, 3), lambda t: t.masked_fill(t < 0, 0.0), lambda x: np.where(x < 0, 0.0, x)),
]


@ON_DEVICES
@pytest.mark.parametrize("name,shape,mg_fn,np_fn", SHAPE_CASES, ids=[c[0] for c in SHAPE_CASES])
@pytest.mark.parametrize("seed", [0, 1])
def test_shape_and_indexing(device: str, name: str, shape, mg_fn, np_fn, seed: int) -> None:
    _check(mg_fn, np_fn, [_data(seed, shape)], device)


def test_empty_reductions_follow_numpy() -> None:
    x = _t(np.zeros((0, 3)))
    s = x.sum(0)
    np.testing.assert_array_equal(s.numpy(), np.zeros(3))
    s.sum().backward()
    assert x.grad.shape == (0, 3)
    m = x.mean(0)
    assert np.isnan(m.numpy()).all()
    with pytest.raises(ValueError, match="Max"):
        x.max(0)


def test_repeated_index_gradient_accumulates() -> None:
    w = _t(np.arange(12.0).reshape(4, 3))
    w[mg.tensor([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(w.grad.numpy()[:, 0], [3, 0, 1, 0])


def test_max_ties_share_gradient() -> None:
    x = _t(np.array([1.0, 3.0, 3.0]))
    x.max().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0.5, 0.5])


def test_comparisons_are_bool_and_untracked() -> None:
    a = _t(np.array([1.0, 2.0, 3.0]))
    for out in (a < 2, a <= 2, a > 2, a >= 2, a == 2, a != 2):
        assert out.dtype == np.bool_
        assert not out.requires_grad and out.grad_fn is None
    np.testing.assert_array_equal((a >= 2).numpy(), [False, True, True])


def test_argmax_argmin() -> None:
    x = mg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    np.testing.assert_array_equal(x.argmax(1).numpy(), [1, 0])
    np.testing.assert_array_equal(x.argmin(axis=0).numpy(), [0, 1, 0])


# ------------------------------------------------------------------ issue 15: more elementwise
# ops and activations. Each row is checked three ways: value against NumPy (or a formula
# written here), gradcheck (analytic vs central differences through minigrad), and
# .backward() against central differences of the NumPy reference itself.
F = mg.nn.functional


def _unit(x: np.ndarray) -> np.ndarray:  # strictly inside (-1, 1)
    return np.tanh(x) * 0.9


def _above_one(x: np.ndarray) -> np.ndarray:
    return np.abs(x) + 1.2


def _off_integers(x: np.ndarray) -> np.ndarray:  # keep x / 0.7 off the jumps of floor
    q = x / 0.7
    return np.where(np.abs(q - np.round(q)) < 0.05, x + 0.1, x)


def _off_rmod_jumps(x: np.ndarray) -> np.ndarray:
    """Away from zero, and 2.5 / x off the integers where ``2.5 % x`` jumps: a value near
    a jump moves to the midpoint between two jumps."""
    x = _away_from_zero(x)
    q = 2.5 / x
    return np.where(np.abs(q - np.round(q)) < 0.05, 2.5 / (np.round(q) + 0.5), x)


def _np_erf(x: np.ndarray) -> np.ndarray:
    import math
    return np.vectorize(math.erf)(x)


def _np_softplus(x: np.ndarray, beta: float = 1.0) -> np.ndarray:
    return np.where(beta * x > 20, x, np.log1p(np.exp(np.minimum(beta * x, 20))) / beta)


EXTRA_UNARY = [
    Unary("sin", mg.sin, np.sin),
    Unary("cos", mg.cos, np.cos),
    Unary("tan", mg.tan, np.tan, _unit),
    Unary("sinh", mg.sinh, np.sinh),
    Unary("cosh", mg.cosh, np.cosh),
    Unary("asin", mg.asin, np.arcsin, _unit),
    Unary("acos", mg.acos, np.arccos, _unit),
    Unary("atan", mg.atan, np.arctan),
    Unary("asinh", mg.asinh, np.arcsinh),
    Unary("acosh", mg.acosh, np.arccosh, _above_one),
    Unary("atanh", mg.atanh, np.arctanh, _unit),
    Unary("log1p", mg.log1p, np.log1p, _positive),
    Unary("expm1", mg.expm1, np.expm1),
    Unary("log2", mg.log2, np.log2, _positive),
    Unary("log10", mg.log10, np.log10, _positive),
    Unary("exp2", mg.exp2, np.exp2),
    Unary("erf", mg.erf, _np_erf),
    Unary("sign", lambda t: mg.sign(t) * t, lambda x: np.sign(x) * x, _away_from_zero),
    Unary("reciprocal", mg.reciprocal, np.reciprocal, _away_from_zero),
    Unary("deg2rad", mg.deg2rad, np.deg2rad),
    Unary("rad2deg", mg.rad2deg, np.rad2deg),
    Unary("sinc", mg.sinc, np.sinc),
    Unary("mod_scalar", lambda t: t % 0.7, lambda x: np.mod(x, 0.7), _off_integers),
    Unary("rmod", lambda t: 2.5 % t, lambda x: np.mod(2.5, x), _off_rmod_jumps),
    Unary("softplus", F.softplus, _np_softplus),
    Unary("softplus_beta", lambda t: F.softplus(t * 15, beta=2.0),
          lambda x: _np_softplus(x * 15, 2.0)),
    Unary("gelu", F.gelu, lambda x: 0.5 * x * (1 + _np_erf(x / np.sqrt(2)))),
    Unary("gelu_tanh", lambda t: F.gelu(t, approximate="tanh"),
          lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))),
    Unary("silu", F.silu, lambda x: x / (1 + np.exp(-x))),
    Unary("mish", F.mish, lambda x: x * np.tanh(np.log1p(np.exp(x)))),
    Unary("leaky_relu", lambda t: F.leaky_relu(t, 0.2), lambda x: np.where(x > 0, x, 0.2 * x),
          _away_from_zero),
    Unary("elu", lambda t: F.elu(t * 3, alpha=1.5),
          lambda x: np.where(x > 0, 3 * x, 1.5 * np.expm1(3 * np.minimum(x, 0))), _away_from_zero),
    Unary("hardtanh", lambda t: F.hardtanh(t, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5),
          _away_from_clip),
    Unary("relu6", lambda t: F.relu6(t * 5), lambda x: np.clip(x * 5, 0, 6),
          lambda x: _away_from_zero(np.where(np.abs(x * 5 - 6) < 0.2, x + 0.1, x))),
    Unary("hardswish", lambda t: F.hardswish(t * 4), lambda x: 4 * x * np.clip(4 * x + 3, 0, 6) / 6,
          lambda x: np.where(np.abs(np.abs(4 * x) - 3) < 0.2, x + 0.1, x)),
    Unary("tril", lambda t: mg.tril(t.reshape(-1, 1) * t.reshape(1, -1), -1),
          lambda x: np.tril(np.outer(x, x), -1)),
    Unary("triu", lambda t: mg.triu(t.reshape(-1, 1) * t.reshape(1, -1), 1),
          lambda x: np.triu(np.outer(x, x), 1)),
]

EXTRA_BINARY = [
    ("atan2", mg.atan2, np.arctan2, _away_from_zero),
    ("hypot", mg.hypot, np.hypot, _away_from_zero),
    ("remainder", lambda a, b: a % b, np.mod, _away_from_zero),
]


def _numeric_grad_of_sum(np_fn: Callable, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (np.sum(np_fn(up)) - np.sum(np_fn(down))) / (2 * eps)
    return grad


@ON_DEVICES
@pytest.mark.parametrize("op", EXTRA_UNARY, ids=lambda o: o.name)
@SETTINGS
@given(shape=array_shapes(min_dims=0, max_dims=3, max_side=4), seed=st.integers(0, 2**16))
def test_extra_unary(device: str, op: Unary, shape: tuple[int, ...], seed: int) -> None:
    if op.name in ("tril", "triu"):
        shape = (int(np.prod(shape)) or 1,)
    x = _data(seed, shape, op.domain)
    if op.name == "mod_scalar":
        x = _off_integers(x)
    _check(op.mg_fn, op.np_fn, [x], device)
    t = _t(x, device)
    op.mg_fn(t).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), _numeric_grad_of_sum(op.np_fn, x),
                               rtol=1e-4, atol=1e-6)


@ON_DEVICES
@pytest.mark.parametrize("name,mg_fn,np_fn,domain_b", EXTRA_BINARY, ids=[o[0] for o in EXTRA_BINARY])
@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       seed=st.integers(0, 2**16))
def test_extra_binary_broadcast(device: str, name: str, mg_fn: Callable, np_fn: Callable, domain_b, shapes,
                                seed: int) -> None:
    sa, sb = shapes.input_shapes
    a = _data(seed, sa, _away_from_zero)
    b = _data(seed + 1, sb, domain_b)
    if name == "remainder":  # keep a / b off the jumps of floor
        q = a / b
        a = np.where(np.abs(q - np.round(q)) < 0.05, a + 0.1 * np.abs(b), a)
    _check(mg_fn, np_fn, [a, b], device)
    ta, tb = _t(a, device), _t(b, device)
    mg_fn(ta, tb).sum().backward()
    ga = _numeric_grad_of_sum(lambda x: np.broadcast_to(np_fn(x, b), np.broadcast_shapes(sa, sb)), a)
    gb = _numeric_grad_of_sum(lambda x: np.broadcast_to(np_fn(a, x), np.broadcast_shapes(sa, sb)), b)
    np.testing.assert_allclose(ta.grad.numpy(), ga, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(tb.grad.numpy(), gb, rtol=1e-4, atol=1e-6)
