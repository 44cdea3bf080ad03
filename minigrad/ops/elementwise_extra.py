"""More elementwise ops: trigonometric and hyperbolic functions and their inverses,
``log1p expm1 log2 log10 exp2 erf atan2 hypot remainder sign tril triu`` (primitives),
and ``reciprocal deg2rad rad2deg sinc`` (composed).

Every primitive's backward is written with Tensor ops, so it is differentiable again.
"""

from __future__ import annotations

import math
from typing import Any

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor
from ._coerce import pair
from .broadcast import sum_to
from .elementwise import _float, exp, sign_zero_nan, sqrt, where

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


class Sin(Function):
    """Primitive: elementwise sine."""

    save_inputs = True

    def forward(self, a):
        return backend.xp_of(a).sin(a)

    def backward(self, g):
        return g * cos(self.inputs[0])


class Cos(Function):
    """Primitive: elementwise cosine."""

    save_inputs = True

    def forward(self, a):
        return backend.xp_of(a).cos(a)

    def backward(self, g):
        return -(g * sin(self.inputs[0]))


class Tan(Function):
    """Primitive: elementwise tangent."""

    save_output = True

    def forward(self, a):
        return backend.xp_of(a).tan(a)

    def backward(self, g):
        y = self.output()
        return g * (1 + y * y)


class Sinh(Function):
    """Primitive: elementwise hyperbolic sine."""

    save_inputs = True

    def forward(self, a):
        return backend.xp_of(a).sinh(a)

    def backward(self, g):
        return g * cosh(self.inputs[0])


class Cosh(Function):
    """Primitive: elementwise hyperbolic cosine."""

    save_inputs = True

    def forward(self, a):
        return backend.xp_of(a).cosh(a)

    def backward(self, g):
        return g * sinh(self.inputs[0])


class Asin(Function):
    """Primitive: elementwise inverse sine."""

    save_inputs = True

    def forward(self, a):
        return backend.xp_of(a).arcsin(a)

    def backward(self, g):
        a = self.inputs[0]
        return g / sqrt(1 - a * a)


class Acos(Function):
    """Primitive: elementwise inverse cosine."""

    save_inputs = True

    def forward(self, a):
        return backend.xp_of(a).arccos(a)

    def backward(self, g):
        a = self.inputs[0]
        return -g / sqrt(1 - a * a)


class Atan(Function):
    """Primitive: elementwise inverse tangent."""

    save_inputs = True

    def forward(self, a):
        return backend.xp_of(a).arctan(a)

    def backward(self, g):
        a = self.inputs[0]
        return g / (1 + a * a)


class Asinh(Function):
    """Primitive: elementwise inverse hyperbolic sine."""

    save_inputs = True

    def forward(self, a):
        return backend.xp_of(a).arcsinh(a)

    def backward(self, g):
        a = self.inputs[0]
        return g / sqrt(a * a + 1)


class Acosh(Function):
    """Primitive: elementwise inverse hyperbolic cosine."""

    save_inputs = True

    def forward(self, a):
        return backend.xp_of(a).arccosh(a)

    def backward(self, g):
        a = self.inputs[0]
        return g / (sqrt(a - 1) * sqrt(a + 1))  # PyTorch's form: no cancellation in a*a - 1


class Atanh(Function):
    """Primitive: elementwise inverse hyperbolic tangent."""

    save_inputs = True

    def forward(self, a):
        return backend.xp_of(a).arctanh(a)

    def backward(self, g):
        a = self.inputs[0]
        return g / (1 - a * a)


class Log1p(Function):
    """Primitive: elementwise ``log(1 + x)``, accurate near 0."""

    save_inputs = True

    def forward(self, a):
        return backend.xp_of(a).log1p(a)

    def backward(self, g):
        return g / (self.inputs[0] + 1)


class Expm1(Function):
    """Primitive: elementwise ``exp(x) - 1``, accurate near 0."""

    save_output = True

    def forward(self, a):
        return backend.xp_of(a).expm1(a)

    def backward(self, g):
        return g * (self.output() + 1)


class Log2(Function):
    """Primitive: elementwise base-2 logarithm."""

    save_inputs = True

    def forward(self, a):
        return backend.xp_of(a).log2(a)

    def backward(self, g):
        return g / (self.inputs[0] * _LN2)


class Log10(Function):
    """Primitive: elementwise base-10 logarithm."""

    save_inputs = True

    def forward(self, a):
        return backend.xp_of(a).log10(a)

    def backward(self, g):
        return g / (self.inputs[0] * _LN10)


class Exp2(Function):
    """Primitive: elementwise ``2 ** x``."""

    save_output = True

    def forward(self, a):
        return backend.xp_of(a).exp2(a)

    def backward(self, g):
        return g * self.output() * _LN2


class Erf(Function):
    """The error function; NumPy has none, so the CPU uses :func:`_erf_series`."""

    save_inputs = True

    def forward(self, a):
        xp = backend.xp_of(a)
        if xp.__name__ == "numpy":
            return _erf_series(a)
        from cupyx.scipy.special import erf as cupy_erf

        return cupy_erf(a)

    def backward(self, g):
        a = self.inputs[0]
        return g * exp(-(a * a)) * _TWO_OVER_SQRT_PI


class Sign(Function):
    """-1, 0 or 1; its gradient is zero everywhere (PyTorch's choice at 0, too)."""

    def forward(self, a):
        return sign_zero_nan(a)  # sign(NaN) is 0 in PyTorch

    def backward(self, g):
        return Tensor._from_array(backend.xp_of(g.data).zeros_like(g.data))


class Atan2(Function):
    """``atan2(a, b)``: the angle of the point ``(b, a)``."""

    save_inputs = True

    def forward(self, a, b):
        return backend.xp_of(a).arctan2(a, b)

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        scale = g / (a * a + b * b)
        return (sum_to(scale * b, a.shape) if na else None,
                sum_to(-(scale * a), b.shape) if nb else None)


class Hypot(Function):
    """``sqrt(a**2 + b**2)`` without overflow in the squares."""

    save_inputs = True
    save_output = True

    def forward(self, a, b):
        return backend.xp_of(a).hypot(a, b)

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        scale = g / self.output()
        return (sum_to(scale * a, a.shape) if na else None,
                sum_to(scale * b, b.shape) if nb else None)


class Remainder(Function):
    """``a - floor(a / b) * b`` (Python's ``%``: the sign of ``b``), as PyTorch's remainder."""

    save_inputs = True

    def forward(self, a, b):
        return backend.xp_of(a).remainder(a, b)

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        ga = sum_to(g, a.shape) if na else None
        if not nb:
            return ga, None
        xp = backend.xp_of(a.data)
        quotient = Tensor._from_array(xp.floor(a.data / b.data).astype(g.data.dtype, copy=False))
        return ga, sum_to(-(g * quotient), b.shape)


class Tril(Function):
    """Primitive: elementwise lower triangle (``diagonal`` shifts it); zeros above."""
    def forward(self, a):
        return backend.xp_of(a).tril(a, self.k)

    def backward(self, g):
        return Tril.apply(g, k=self.k)


class Triu(Function):
    """Primitive: elementwise upper triangle (``diagonal`` shifts it); zeros below."""
    def forward(self, a):
        return backend.xp_of(a).triu(a, self.k)

    def backward(self, g):
        return Triu.apply(g, k=self.k)


def _erf_series(x: Any) -> Any:
    """erf on NumPy arrays to a few float64 ulps. Below 1: ``2/sqrt(pi) exp(-x^2)
    sum_n (2x^2)^n x / (1*3*...*(2n+1))``, a series of positive terms (no cancellation)
    summed until the terms no longer change it. From 1: ``1 - erfc(x)`` with erfc from
    its continued fraction, so the rounding of ``exp(-x^2)`` only touches the small erfc."""
    import numpy as np

    work = np.asarray(x, dtype=np.float64)
    z = np.abs(work)
    out = np.empty_like(z)
    small = z < 1.0
    zs = z[small]
    z2 = 2.0 * zs * zs
    term = zs.copy()
    total = zs.copy()
    n = 0
    while zs.size:
        n += 1
        term *= z2 / (2 * n + 1)
        total += term
        if n % 8 == 0 and not np.any(term > total * 1e-17):
            break
    out[small] = _TWO_OVER_SQRT_PI * np.exp(-zs * zs) * total
    # erfc(z) = exp(-z^2)/sqrt(pi) / (z + (1/2)/(z + 1/(z + (3/2)/(z + ...)))), z >= 1;
    # 250 levels reach float64 rounding at z = 1, 60 from z = 2.5
    for lo, hi, depth in ((1.0, 2.5, 250), (2.5, np.inf, 60)):
        part = (z >= lo) & (z < hi) if hi < np.inf else z >= lo
        zl = np.minimum(z[part], 30.0)
        frac = zl.copy()
        for k in range(depth, 0, -1):
            frac = zl + (k / 2.0) / frac
        out[part] = 1.0 - np.exp(-zl * zl) / (math.sqrt(math.pi) * frac)
    out[np.isnan(z)] = np.nan
    return (np.sign(work) * out).astype(x.dtype, copy=False)


# ------------------------------------------------------------------ functions
def _unary(cls: type[Function], doc: str) -> Any:
    def fn(input: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
        return cls.apply(_float(input))

    fn.__name__ = fn.__qualname__ = cls.__name__.lower()
    fn.__doc__ = doc
    return fn


sin = _unary(Sin, "Elementwise sine.")
cos = _unary(Cos, "Elementwise cosine.")
tan = _unary(Tan, "Elementwise tangent.")
sinh = _unary(Sinh, "Elementwise hyperbolic sine.")
cosh = _unary(Cosh, "Elementwise hyperbolic cosine.")
asin = _unary(Asin, "Elementwise inverse sine (NaN outside [-1, 1]).")
acos = _unary(Acos, "Elementwise inverse cosine (NaN outside [-1, 1]).")
atan = _unary(Atan, "Elementwise inverse tangent.")
asinh = _unary(Asinh, "Elementwise inverse hyperbolic sine.")
acosh = _unary(Acosh, "Elementwise inverse hyperbolic cosine (NaN below 1).")
atanh = _unary(Atanh, "Elementwise inverse hyperbolic tangent (NaN outside [-1, 1]).")
log1p = _unary(Log1p, "``log(1 + x)``, accurate for small ``x``.")
expm1 = _unary(Expm1, "``exp(x) - 1``, accurate for small ``x``.")
log2 = _unary(Log2, "Elementwise base-2 logarithm.")
log10 = _unary(Log10, "Elementwise base-10 logarithm.")
exp2 = _unary(Exp2, "Elementwise ``2 ** x``.")
erf = _unary(Erf, "The error function ``2/sqrt(pi) * integral_0^x exp(-t^2) dt``.")


def sign(input: Tensor) -> Tensor:  # noqa: A002
    """-1, 0 or 1 by the sign of each element (gradient zero); keeps the dtype."""
    return Sign.apply(input)


def atan2(input: Any, other: Any) -> Tensor:  # noqa: A002
    """Elementwise angle of the point ``(other, input)`` in radians, in ``[-pi, pi]``
    (``input`` and ``other`` broadcast)."""
    a, b = pair(input, other)
    return Atan2.apply(_float(a), _float(b))


def hypot(input: Any, other: Any) -> Tensor:  # noqa: A002
    """Elementwise ``sqrt(input**2 + other**2)`` (broadcasting), without overflow."""
    a, b = pair(input, other)
    return Hypot.apply(_float(a), _float(b))


def remainder(input: Any, other: Any) -> Tensor:  # noqa: A002
    """Python's ``%`` elementwise: ``input - floor(input / other) * other``, the sign of
    ``other`` (PyTorch's ``remainder``; the gradient to ``other`` is ``-floor(input/other)``)."""
    a, b = pair(input, other)
    return Remainder.apply(a, b)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:  # noqa: A002
    """The lower triangle of the last two axes ``(*, m, n)``: entries above ``diagonal``
    (0 the main one, positive above it) are zero."""
    _check_matrix("tril", input)
    return Tril.apply(input, k=int(diagonal))


def triu(input: Tensor, diagonal: int = 0) -> Tensor:  # noqa: A002
    """The upper triangle of the last two axes ``(*, m, n)``: entries below ``diagonal``
    are zero."""
    _check_matrix("triu", input)
    return Triu.apply(input, k=int(diagonal))


def _check_matrix(op: str, t: Tensor) -> None:
    if t.ndim < 2:
        raise ValueError(f"{op}: input must have at least 2 dimensions (*, m, n), got shape {t.shape}")


def reciprocal(input: Tensor) -> Tensor:  # noqa: A002
    """Elementwise ``1 / x`` (composed: a division)."""
    return 1.0 / _float(input)


def deg2rad(input: Tensor) -> Tensor:  # noqa: A002
    """Degrees to radians (composed: a product with ``pi / 180``)."""
    return _float(input) * (math.pi / 180.0)


def rad2deg(input: Tensor) -> Tensor:  # noqa: A002
    """Radians to degrees (composed: a product with ``180 / pi``)."""
    return _float(input) * (180.0 / math.pi)


def sinc(input: Tensor) -> Tensor:  # noqa: A002
    """The normalised sinc ``sin(pi x) / (pi x)``, 1 at 0 (composed; the gradient at 0 is
    0, never NaN: the division runs on 1 where ``x`` is 0)."""
    x = _float(input)
    zero = x == 0
    safe = where(zero, 1.0, x) * math.pi
    return where(zero, 1.0, sin(safe) / safe)


# NumPy's spellings
arcsin, arccos, arctan = asin, acos, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh
arctan2 = atan2

__all__ = [
    "sin", "cos", "tan", "sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh", "atanh",
    "log1p", "expm1", "log2", "log10", "exp2", "erf", "sign", "atan2", "hypot", "remainder",
    "tril", "triu", "reciprocal", "deg2rad", "rad2deg", "sinc", "arcsin", "arccos", "arctan",
    "arcsinh", "arccosh", "arctanh", "arctan2",
]
