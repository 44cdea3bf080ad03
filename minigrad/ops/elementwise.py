"""Elementwise primitives. Each backward reduces its gradient to the input's shape."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..autograd.context import state
from ..autograd.function import Function, grad_formula
from ..tensor import Tensor
from ._coerce import as_tensor_like, pair
from .broadcast import sum_to
from .device import check_same_device


def _mul(a, b):
    return a * b


def _div(a, b):
    return a / b


def _extremum_grads(fn: Function, g: Tensor, loses: Any) -> tuple:
    """Gradients of max/min: ``loses(a, b)`` is where ``a`` is not selected."""
    a, b = (t.data for t in fn.inputs)
    na, nb = fn.needs_input_grad
    shared = where(a == b, grad_formula(lambda g: g * 0.5, g), g)
    ga = sum_to(where(loses(a, b), 0.0, shared), a.shape) if na else None
    gb = sum_to(where(loses(b, a), 0.0, shared), b.shape) if nb else None
    return ga, gb


def _float(a: Tensor) -> Tensor:
    """Int and bool tensors as the default float dtype (for exp, log, ...), like PyTorch."""
    if a.data.dtype.kind in "biu":
        with backend.array_context(a.data):
            return Tensor._from_array(a.data.astype(backend.get_default_dtype()))
    return a


def _binary(cls: type[Function], a: Any, b: Any) -> Tensor:
    a, b = pair(a, b)
    return cls.apply(a, b, a_shape=a.data.shape, b_shape=b.data.shape)


def _where(cond: Any, a: Any, b: Any, op: str) -> Tensor:
    cond_array = cond.data if isinstance(cond, Tensor) else cond
    if not backend.is_array(cond_array):
        cond_array = np.asarray(cond_array)
    if cond_array.dtype != np.bool_:
        raise TypeError(f"{op}: cond must be a bool tensor, got dtype {cond_array.dtype}")
    a, b = pair(a, b)
    check_same_device(op, "cond" if op == "where" else "mask", cond_array, "input", a)
    if state.grad_enabled and (a.requires_grad or b.requires_grad):
        # backward reads cond later: keep a copy the caller cannot change in between
        with backend.array_context(cond_array):
            cond_array = cond_array.copy()
    return Where.apply(a, b, cond=cond_array, a_shape=a.data.shape, b_shape=b.data.shape)


def _compare(op: str):  # noqa: ANN202
    def compare(a: Any, b: Any) -> Tensor:
        a, b = pair(a, b)
        if a.device != b.device:
            check_same_device(op.strip("_"), "the right operand", b, "the left operand", a)
        with backend.array_context(a.data):
            return Tensor._from_array(getattr(a.data, op)(b.data))

    compare.__name__ = op.strip("_")
    compare.__doc__ = f"Elementwise ``{op.strip('_')}`` comparison (a bool tensor, no gradient)."
    return compare


# Most negative input whose exp(-x) stays finite, per float dtype.
_EXP_SAFE = {"e": -11.0, "f": -88.0, "d": -709.0}


class Add(Function):
    """``a + b``; d/da = d/db = 1 (each reduced to its input's shape)."""
    def forward(self, a, b):
        return a + b

    def backward(self, g):
        na, nb = self.needs_input_grad
        return (sum_to(g, self.a_shape) if na else None, sum_to(g, self.b_shape) if nb else None)


def add(a: Any, b: Any) -> Tensor:
    """``a + b`` with broadcasting."""
    return _binary(Add, a, b)


class Sub(Function):
    """``a - b``; d/da = 1, d/db = -1."""
    def forward(self, a, b):
        return a - b

    def backward(self, g):
        na, nb = self.needs_input_grad
        return (sum_to(g, self.a_shape) if na else None, sum_to(-g, self.b_shape) if nb else None)


def sub(a: Any, b: Any) -> Tensor:
    """``a - b`` with broadcasting."""
    return _binary(Sub, a, b)


class Mul(Function):
    """``a * b``; d/da = b, d/db = a."""
    save_inputs = True

    def forward(self, a, b):
        return a * b

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        return (sum_to(grad_formula(_mul, g, b), a.shape) if na else None,
                sum_to(grad_formula(_mul, g, a), b.shape) if nb else None)


def mul(a: Any, b: Any) -> Tensor:
    """``a * b`` with broadcasting."""
    a, b = pair(a, b)
    return Mul.apply(a, b)


class Div(Function):
    """``a / b``; d/da = 1/b, d/db = -a/b^2."""
    save_inputs = True

    def forward(self, a, b):
        if a.dtype.kind in "biu" and b.dtype.kind in "biu":
            return backend.xp_of(a).true_divide(a, b, dtype=backend.get_default_dtype())
        return a / b

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        ga = sum_to(grad_formula(_div, g, b), a.shape) if na else None
        gb = sum_to(grad_formula(lambda g, a, b: -g * a / (b * b), g, a, b), b.shape) if nb else None
        return ga, gb


def div(a: Any, b: Any) -> Tensor:
    """``a / b`` with broadcasting (true division)."""
    a, b = pair(a, b)
    return Div.apply(a, b)


class Neg(Function):
    """``-a``; d/da = -1."""
    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


def neg(a: Tensor) -> Tensor:
    """``-a``."""
    return Neg.apply(a)


class Pow(Function):
    """``a ** b`` for two tensors (``b`` may be a constant)."""

    save_inputs = True
    save_output = True

    def forward(self, a, b):
        return a**b

    def backward(self, g):
        # PyTorch's conventions where the formulas meet 0 * inf: d/da is 0 where b == 0
        # (so d(x ** 0)/dx = 0 at x = 0), d/db is 0 where a == 0 and b >= 0.
        a, b = self.inputs
        na, nb = self.needs_input_grad
        ga = gb = None
        if na:
            ga = grad_formula(lambda g, a, b: g * b * a ** (b - 1), g, a, b)
            ga = sum_to(where(b.data == 0, 0.0, ga), a.shape)
        if nb:
            gb = g * self.output() * log(a)
            gb = sum_to(where((a.data == 0) & (b.data >= 0), 0.0, gb), b.shape)
        return ga, gb


class PowScalar(Function):
    """``a ** p`` for a Python number ``p`` (the common case: squares, roots)."""

    save_inputs = True

    def forward(self, a):
        return a**self.p

    def backward(self, g):
        (a,) = self.inputs
        p = self.p
        if p == 2:
            return grad_formula(lambda g, a: g * (a + a), g, a)
        if p == 0:  # d(x ** 0)/dx is 0 everywhere, x = 0 included (not 0 * inf)
            return Tensor._from_array(backend.xp_of(g.data).zeros_like(g.data))
        return grad_formula(lambda g, a: g * p * a ** (p - 1), g, a)


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001 - PyTorch's name
    """``a ** b``; a Python-number exponent takes the cheaper path."""
    if isinstance(a, Tensor) and isinstance(b, int | float | np.integer | np.floating) \
            and not isinstance(b, bool | np.bool_):
        # a Python number, never a numpy scalar: np.float64 would widen float32 to float64
        p = int(b) if isinstance(b, int | np.integer) else float(b)
        return PowScalar.apply(_float(a) if isinstance(p, float) else a, p=p)
    a, b = pair(a, b)
    return Pow.apply(a, b)


class Exp(Function):
    """``exp(a)``; d/da = exp(a) (the saved output)."""
    save_output = True

    def forward(self, a):
        return backend.xp_of(a).exp(a)

    def backward(self, g):
        return grad_formula(_mul, g, self.output())


def exp(a: Tensor) -> Tensor:
    """Elementwise ``e ** a``."""
    return Exp.apply(_float(a))


class Log(Function):
    """``log(a)``; d/da = 1/a."""
    save_inputs = True

    def forward(self, a):
        return backend.xp_of(a).log(a)

    def backward(self, g):
        return grad_formula(_div, g, self.inputs[0])


def log(a: Tensor) -> Tensor:
    """Elementwise natural logarithm."""
    return Log.apply(_float(a))


class Sqrt(Function):
    """``sqrt(a)``; d/da = 1 / (2 sqrt(a)) (from the saved output)."""
    save_output = True

    def forward(self, a):
        return backend.xp_of(a).sqrt(a)

    def backward(self, g):
        return grad_formula(lambda g, y: g / (y + y), g, self.output())


def sqrt(a: Tensor) -> Tensor:
    """Elementwise square root."""
    return Sqrt.apply(_float(a))


class Tanh(Function):
    """``tanh(a)``; d/da = 1 - tanh(a)^2 (from the saved output)."""
    save_output = True

    def forward(self, a):
        return backend.xp_of(a).tanh(a)

    def backward(self, g):
        return grad_formula(lambda g, y: g * (1 - y * y), g, self.output())


def tanh(a: Tensor) -> Tensor:
    """Elementwise hyperbolic tangent."""
    return Tanh.apply(_float(a))


class Sigmoid(Function):
    """``1 / (1 + exp(-a))``; d/da = s (1 - s) (from the saved output)."""
    save_output = True

    def forward(self, a):
        xp = backend.xp_of(a)
        # 1 / (1 + exp(-a)), with a clamped where exp(-a) would overflow (the result
        # there is 0 to the dtype's precision either way)
        out = xp.maximum(a, _EXP_SAFE.get(a.dtype.char, -80.0), out=xp.empty_like(a))
        xp.negative(out, out=out)
        xp.exp(out, out=out)
        out += 1
        return xp.reciprocal(out, out=out)

    def backward(self, g):
        return grad_formula(lambda g, y: g * (y - y * y), g, self.output())


def sigmoid(a: Tensor) -> Tensor:
    """Elementwise logistic function ``1 / (1 + exp(-a))``."""
    return Sigmoid.apply(_float(a))


class Relu(Function):
    """``max(a, 0)``; d/da = 1 where a > 0, else 0."""
    save_output = True

    def forward(self, a):
        return backend.xp_of(a).maximum(a, 0)

    def backward(self, g):
        # the gradient passes where the output is not <= 0, so NaN inputs pass it (PyTorch)
        return grad_formula(_mul, g, Tensor._from_array(~(self.out <= 0)))


def relu(a: Tensor) -> Tensor:
    """Elementwise ``max(a, 0)``."""
    return Relu.apply(a)


class Abs(Function):
    """``|a|``; d/da = sign(a)."""
    save_inputs = True

    def forward(self, a):
        return backend.xp_of(a).abs(a)

    def backward(self, g):
        a = self.inputs[0].data
        return grad_formula(_mul, g, Tensor._from_array(sign_zero_nan(a)))


def sign_zero_nan(a: Any) -> Any:
    """``sign(a)`` with 0 where ``a`` is NaN, as PyTorch's ``sign``/``sgn`` (NumPy gives NaN)."""
    xp = backend.xp_of(a)
    s = xp.sign(a)
    if s.dtype.kind == "f":
        s = xp.where(s == s, s, 0).astype(s.dtype, copy=False)
    return s


def abs(a: Tensor) -> Tensor:  # noqa: A001
    """Elementwise absolute value (gradient ``sign(a)``)."""
    return Abs.apply(a)


class Clip(Function):
    """Clamp to ``[lo, hi]``; the gradient passes where lo <= a <= hi (PyTorch's clamp)."""

    save_inputs = True

    def forward(self, a):
        return backend.xp_of(a).clip(a, self.lo, self.hi)

    def backward(self, g):
        a = self.inputs[0].data
        if self.lo is None:
            keep = a <= self.hi
        elif self.hi is None:
            keep = a >= self.lo
        else:
            keep = (a >= self.lo) & (a <= self.hi)
        return grad_formula(_mul, g, Tensor._from_array(keep))


def clip(a: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """Clamp ``a`` into ``[min, max]`` (either bound may be None)."""
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    if isinstance(min, float) or isinstance(max, float):
        a = _float(a)  # float bounds on an int tensor give a float result (PyTorch's)
    dt = a.data.dtype.type
    lo = None if min is None else dt(min)
    hi = None if max is None else dt(max)
    return Clip.apply(a, lo=lo, hi=hi)


class Where(Function):
    """``cond ? a : b`` with a constant boolean ``cond`` array."""

    def forward(self, a, b):
        return backend.xp_of(a).where(self.cond, a, b)

    def backward(self, g):
        na, nb = self.needs_input_grad
        zero = g.data.dtype.type(0)
        ga = sum_to(where(self.cond, g, zero), self.a_shape) if na else None
        gb = sum_to(where(self.cond, zero, g), self.b_shape) if nb else None
        return ga, gb


def where(cond: Any, a: Any, b: Any) -> Tensor:
    """Elementwise ``a`` where ``cond`` is True, else ``b`` (broadcasting all three)."""
    return _where(cond, a, b, "where")


def masked_fill(a: Tensor, mask: Any, value: float) -> Tensor:
    """``a`` with ``value`` wherever the bool ``mask`` is True."""
    return _where(mask, value, a, "masked_fill")


class Maximum(Function):
    """Elementwise maximum; NaN propagates; at ties each input gets half the gradient
    (PyTorch's rule). Where either input is NaN both get the full gradient."""

    save_inputs = True

    def forward(self, a, b):
        return backend.xp_of(a).maximum(a, b)

    def backward(self, g):
        return _extremum_grads(self, g, lambda a, b: a < b)


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise maximum (broadcasting); NaN propagates, ties split the gradient."""
    a, b = pair(a, b)
    return Maximum.apply(a, b)


class Minimum(Function):
    """Elementwise minimum; the mirror image of :class:`Maximum`."""

    save_inputs = True

    def forward(self, a, b):
        return backend.xp_of(a).minimum(a, b)

    def backward(self, g):
        return _extremum_grads(self, g, lambda a, b: a > b)


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise minimum (broadcasting); NaN propagates, ties split the gradient."""
    a, b = pair(a, b)
    return Minimum.apply(a, b)


class Cast(Function):
    """``a`` as ``dtype``; backward casts the gradient back to ``a``'s dtype."""
    def forward(self, a):
        self.src = a.dtype
        return a.astype(self.dtype)

    def backward(self, g):
        return cast(g, self.src)


def cast(a: Tensor, dtype: Any) -> Tensor:
    """``a`` converted to ``dtype``; the gradient is cast back."""
    dtype = np.dtype(dtype)
    if a.data.dtype == dtype:
        return a
    if dtype.kind not in "fc" and a.requires_grad:
        with backend.array_context(a.data):
            return Tensor._from_array(a.data.astype(dtype))
    return Cast.apply(a, dtype=dtype)


lt = _compare("__lt__")
le = _compare("__le__")
gt = _compare("__gt__")
ge = _compare("__ge__")
eq = _compare("__eq__")
ne = _compare("__ne__")

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "tanh", "sigmoid",
    "relu", "abs", "clip", "maximum", "minimum", "where", "masked_fill", "cast", "lt", "le", "gt", "ge", "eq",
    "ne", "as_tensor_like",
]
