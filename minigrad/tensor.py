"""Tensor: an array (numpy or cupy) plus the links autograd needs.

Operators and methods delegate to ``minigrad.ops``; this file holds no math.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import backend
from ._dimargs import dim_aliases as _dim_aliases


class Tensor:
    """A multi-dimensional array that can record the ops applied to it.

    Attributes: ``data`` (the raw numpy/cupy array), ``grad`` (a Tensor or None),
    ``grad_fn`` (the Function that made it, None for leaves), ``requires_grad``.
    Create tensors with :func:`minigrad.tensor` and the other creation functions.
    """

    # _version: None until the data is first modified in place, then a one-item list
    # shared with detach()ed aliases; ops that save a tensor for backward check it.
    __slots__ = ("data", "grad", "grad_fn", "requires_grad", "_out_idx", "_version", "__weakref__")
    # numpy must hand binary ops with a Tensor to the Tensor's reflected operator.
    __array_ufunc__ = None

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 device: str | None = None) -> None:
        self.data = _to_array(data, dtype, device)
        self.grad = None
        self.grad_fn = None
        self._out_idx = 0
        self._version = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ------------------------------------------------------------ attributes
    @property
    def shape(self) -> tuple[int, ...]:
        """The size of each dimension, a tuple of ints."""
        return tuple(self.data.shape)

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of the elements."""
        return self.data.dtype

    @property
    def device(self) -> str:
        """``"cpu"`` (NumPy) or ``"cuda"`` / ``"cuda:N"`` (CuPy)."""
        return backend.device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        """True when no recorded op made this tensor (``grad_fn is None``)."""
        return self.grad_fn is None

    @property
    def T(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """All axes reversed: ``(a, b, c)`` -> ``(c, b, a)``."""
        return ops.permute(self, *reversed(range(self.ndim)))

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        """The shape, or the length of one dimension (PyTorch's ``size``)."""
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        """Number of elements."""
        return int(self.data.size)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __hash__(self) -> int:  # == is elementwise, so hash by identity
        return id(self)

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                "use .any() / .all() on .data, or compare a single element"
            )
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __repr__(self) -> str:
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(")
        extra = []
        if self.data.dtype != backend.get_default_dtype() and self.data.dtype.kind == "f":
            extra.append(f"dtype={self.data.dtype}")
        if self.data.dtype.kind != "f":
            extra.append(f"dtype={self.data.dtype}")
        if self.device != "cpu":
            extra.append(f"device='{self.device}'")
        if self.grad_fn is not None:
            extra.append(f"grad_fn=<{self.grad_fn.name}>")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extra) + ")"

    # ------------------------------------------------------------ autograd
    def backward(self, grad: Tensor | Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        ``grad`` defaults to 1 for a single-element tensor. The graph is freed
        afterwards unless ``retain_graph`` (default: ``create_graph``).
        """
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: grad can be implicitly created only for single-element "
                    f"outputs, got shape {self.shape}; pass grad= of that shape"
                )
            with backend.array_context(self.data):
                grad = Tensor._from_array(backend.xp_of(self.data).ones_like(self.data))
        else:
            grad = _gradient_like(grad, self, "backward", "grad", "the tensor")
            if grad.shape != self.shape:
                raise ValueError(
                    f"backward: grad has shape {grad.shape} but the tensor has shape {self.shape}"
                )
        if retain_graph is None:
            retain_graph = create_graph
        with backend.array_context(self.data):  # the engine's own adds run on this device
            engine.run_backward((self,), (grad,), retain_graph, create_graph)

    def detach(self) -> Tensor:
        """A tensor sharing this data (and its in-place version counter), cut from the graph."""
        if self._version is None:
            self._version = [0]
        t = Tensor._from_array(self.data)
        t._version = self._version
        return t

    def _bump_version(self) -> None:
        """Record an in-place change of ``data``, so that a graph which saved this tensor
        refuses to backpropagate with the new values."""
        if self._version is None:
            self._version = [1]
        else:
            self._version[0] += 1

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if self.grad_fn is None:
            return
        if not self.requires_grad:
            raise RuntimeError("retain_grad: the tensor does not require grad")
        if self.grad_fn.retained is None:
            self.grad_fn.retained = {}
        self.grad_fn.retained[self._out_idx] = weakref.ref(self)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` on a leaf in place; returns self."""
        if self.grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "requires_grad_: a non-leaf tensor always requires grad; use .detach()"
                )
            return self
        if requires_grad and self.data.dtype.kind not in "fc":
            raise RuntimeError(
                f"requires_grad_: only floating-point tensors can require gradients, "
                f"got dtype {self.data.dtype}"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def zero_(self) -> Tensor:
        """Fill with zeros in place; returns self (PyTorch's in-place rules: see ``add_``)."""
        return ops.inplace.zero_(self)

    # ------------------------------------------------------------ conversion
    def numpy(self) -> np.ndarray:
        """The data as a host numpy array (a copy only when it lives on a GPU)."""
        return backend.to_device(self.data, "cpu")

    def item(self) -> Any:
        """The value of a single-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(
                f"item: only a single-element tensor converts to a Python number, got shape {self.shape}"
            )
        return self.data.item()

    def tolist(self) -> Any:
        """The data as nested Python lists."""
        return self.numpy().tolist()

    def to(self, device_or_dtype: Any) -> Tensor:
        """Move to a device (``"cpu"``, ``"cuda"``) or cast to a dtype (differentiable)."""
        if isinstance(device_or_dtype, str) and not _is_dtype_name(device_or_dtype):
            return ops.to_device(self, backend.normalize_device(device_or_dtype))
        return self.to_dtype(device_or_dtype)

    def to_dtype(self, dtype: Any) -> Tensor:
        """A copy cast to ``dtype`` (differentiable for float dtypes)."""
        return ops.cast(self, np.dtype(dtype))

    def cpu(self) -> Tensor:
        """This tensor on the CPU (a differentiable copy when it is on a GPU)."""
        return self.to("cpu")

    def cuda(self, device: int | str = 0) -> Tensor:
        """This tensor on GPU ``device`` (needs CuPy)."""
        return self.to(device if isinstance(device, str) else f"cuda:{device}")

    def float(self) -> Tensor:
        """Cast to float32."""
        return self.to_dtype(np.float32)

    def double(self) -> Tensor:
        """Cast to float64."""
        return self.to_dtype(np.float64)

    def long(self) -> Tensor:
        """Cast to int64 (no gradient)."""
        return self.to_dtype(np.int64)

    def bool(self) -> Tensor:
        """Cast to bool (no gradient)."""
        return self.to_dtype(np.bool_)

    @staticmethod
    def _from_array(array: Any) -> Tensor:
        """Wrap an array as a leaf without copying or converting it (internal fast path)."""
        return _wrap(array, None, 0)

    # ------------------------------------------------------------ operators
    def __add__(self, other: Any) -> Tensor:
        return ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return ops.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return ops.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return ops.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.div(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return ops.pow(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return ops.pow(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.matmul(other, self)

    def __neg__(self) -> Tensor:
        return ops.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return ops.abs(self)

    def __lt__(self, other: Any) -> Tensor:
        return ops.lt(self, other)

    def __le__(self, other: Any) -> Tensor:
        return ops.le(self, other)

    def __gt__(self, other: Any) -> Tensor:
        return ops.gt(self, other)

    def __ge__(self, other: Any) -> Tensor:
        return ops.ge(self, other)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return ops.eq(self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return ops.ne(self, other)

    def __getitem__(self, index: Any) -> Tensor:
        return ops.getitem(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        if self.requires_grad and state.grad_enabled:
            raise RuntimeError(
                "__setitem__: in-place assignment into a tensor that requires grad would "
                "corrupt the recorded graph; build a new tensor (mg.where, mg.cat) instead, "
                "or assign under mg.no_grad()"
            )
        if isinstance(value, Tensor) and value.requires_grad and state.grad_enabled:
            raise RuntimeError(
                f"__setitem__: the value (shape {value.shape}) requires grad, but assigning it "
                f"into a tensor of shape {self.shape} would drop its gradient; build the new "
                "tensor with mg.where, mg.cat or mg.stack, or assign value.detach() if no "
                "gradient should flow"
            )
        index = ops.unwrap_index(index)
        self.data[index] = value.data if isinstance(value, Tensor) else value
        self._bump_version()

    def __iter__(self):  # noqa: ANN204
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    # ------------------------------------------------------------ methods
    def exp(self) -> Tensor:
        """Elementwise ``e ** x``, same shape."""
        return ops.exp(self)

    def log(self) -> Tensor:
        """Elementwise natural logarithm, same shape."""
        return ops.log(self)

    def sqrt(self) -> Tensor:
        """Elementwise square root, same shape."""
        return ops.sqrt(self)

    def tanh(self) -> Tensor:
        """Elementwise hyperbolic tangent, same shape."""
        return ops.tanh(self)

    def sigmoid(self) -> Tensor:
        """Elementwise ``1 / (1 + exp(-x))``, same shape."""
        return ops.sigmoid(self)

    def relu(self) -> Tensor:
        """Elementwise ``max(x, 0)``, same shape."""
        return ops.relu(self)

    def abs(self) -> Tensor:
        """Elementwise ``|x|``, same shape."""
        return ops.abs(self)

    def clip(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        """Elementwise clamp into ``[min, max]`` (either may be None), same shape."""
        return ops.clip(self, min, max)

    clamp = clip

    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (all when None); the axis is kept as size 1 with ``keepdims``."""
        return ops.sum(self, axis, keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis`` (all when None); the axis is kept as size 1 with ``keepdims``."""
        return ops.mean(self, axis, keepdims)

    def var(self, axis: Any = None, keepdims: bool = False, correction: int = 1) -> Tensor:
        """Variance over ``axis`` with ``correction`` (1: unbiased, PyTorch's default)."""
        return ops.var(self, axis, keepdims, correction)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Maximum over ``axis`` (all when None); ties share the gradient."""
        return ops.max(self, axis, keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Minimum over ``axis`` (all when None); ties share the gradient."""
        return ops.min(self, axis, keepdims)

    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        """Indices (int64) of the maxima over ``axis`` (of the flattened tensor when None)."""
        return ops.argmax(self, axis, keepdims)

    def argmin(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        """Indices (int64) of the minima over ``axis`` (of the flattened tensor when None)."""
        return ops.argmin(self, axis, keepdims)

    def reshape(self, *shape: Any) -> Tensor:
        """The same data with a new shape (one ``-1`` is inferred)."""
        return ops.reshape(self, *shape)

    def view(self, *shape: Any) -> Tensor:
        """PyTorch's name for ``reshape`` (no contiguity is required here)."""
        return ops.reshape(self, *shape)

    def transpose(self, *axes: Any) -> Tensor:
        """Two axes swapped (PyTorch's ``transpose(0, 1)``), all reordered by a full permutation
        (NumPy's), or all reversed when none are given."""
        return ops.transpose(self, *axes)

    def permute(self, *axes: Any) -> Tensor:
        """Axes in the order ``axes``: ``(a, b, c).permute(2, 0, 1)`` -> ``(c, a, b)``."""
        return ops.permute(self, *axes)

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        """Axes ``axis0`` and ``axis1`` exchanged."""
        return ops.swapaxes(self, axis0, axis1)

    def unsqueeze(self, axis: int) -> Tensor:
        """A new axis of size 1 at ``axis``."""
        return ops.unsqueeze(self, axis)

    def squeeze(self, axis: Any = None) -> Tensor:
        """Axes of size 1 removed (only ``axis`` when given)."""
        return ops.squeeze(self, axis)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Axes ``start_dim`` to ``end_dim`` merged into one."""
        return ops.flatten(self, start_dim, end_dim)

    def expand(self, *shape: Any) -> Tensor:
        """Broadcast to ``shape`` (``-1`` keeps a size), without copying."""
        return ops.expand(self, *shape)

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        """Broadcast to ``shape`` (NumPy's rules), without copying."""
        return ops.broadcast_to(self, shape)

    def softmax(self, axis: int = -1) -> Tensor:
        """Softmax along ``axis``, same shape; each slice sums to 1."""
        return ops.softmax(self, axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        """Log of the softmax along ``axis`` (computed stably), same shape."""
        return ops.log_softmax(self, axis)

    def matmul(self, other: Any) -> Tensor:
        """``self @ other``: ``(*, n, k) @ (*, k, m)`` -> ``(*, n, m)``, batch dims broadcast."""
        return ops.matmul(self, other)

    def masked_fill(self, mask: Any, value: float) -> Tensor:
        """``value`` where ``mask`` (broadcastable bool) is True, this tensor elsewhere."""
        return ops.masked_fill(self, mask, value)

    def split(self, split_size_or_sections: Any, axis: int = 0) -> tuple[Tensor, ...]:
        """Pieces along ``axis``: each of size ``split_size_or_sections`` (an int) or of the sizes listed."""
        return ops.split(self, split_size_or_sections, axis)

    def chunk(self, chunks: int, axis: int = 0) -> tuple[Tensor, ...]:
        """``chunks`` pieces along ``axis`` of (nearly) equal size."""
        return ops.chunk(self, chunks, axis)

    # ------------------------------------------------------------ in place (ops/inplace.py)
    def add_(self, other: Any, alpha: Any = 1) -> Tensor:
        """``self += alpha * other`` in place. Allowed under ``no_grad`` and on tensors
        that need no leaf gradient; recorded like PyTorch's otherwise; bumps the version."""
        return ops.inplace.add_(self, other, alpha=alpha)

    def sub_(self, other: Any, alpha: Any = 1) -> Tensor:
        """``self -= alpha * other`` in place."""
        return ops.inplace.sub_(self, other, alpha=alpha)

    def mul_(self, other: Any) -> Tensor:
        """``self *= other`` in place."""
        return ops.inplace.mul_(self, other)

    def div_(self, other: Any) -> Tensor:
        """``self /= other`` in place (true division; float tensors only)."""
        return ops.inplace.div_(self, other)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        """Clamp into ``[min, max]`` in place."""
        return ops.inplace.clamp_(self, min, max)

    clip_ = clamp_

    def copy_(self, src: Any) -> Tensor:
        """Copy ``src`` (broadcast, cast, moved to this device) into this tensor."""
        return ops.inplace.copy_(self, src)

    def fill_(self, value: Any) -> Tensor:
        """Set every element to ``value`` (a number or a 0-d tensor) in place."""
        return ops.inplace.fill_(self, value)

    def __iadd__(self, other: Any) -> Tensor:
        return ops.inplace.add_(self, other)

    def __isub__(self, other: Any) -> Tensor:
        return ops.inplace.sub_(self, other)

    def __imul__(self, other: Any) -> Tensor:
        return ops.inplace.mul_(self, other)

    def __itruediv__(self, other: Any) -> Tensor:
        return ops.inplace.div_(self, other)

    # ------------------------------------------------------------ more elementwise ops
    def sin(self) -> Tensor:
        """Elementwise sine (see ``mg.sin``); same shape."""
        return ops.sin(self)

    def cos(self) -> Tensor:
        """Elementwise cosine (see ``mg.cos``); same shape."""
        return ops.cos(self)

    def tan(self) -> Tensor:
        """Elementwise tangent (see ``mg.tan``); same shape."""
        return ops.tan(self)

    def sinh(self) -> Tensor:
        """Elementwise hyperbolic sine (see ``mg.sinh``); same shape."""
        return ops.sinh(self)

    def cosh(self) -> Tensor:
        """Elementwise hyperbolic cosine (see ``mg.cosh``); same shape."""
        return ops.cosh(self)

    def asin(self) -> Tensor:
        """Elementwise inverse sine (see ``mg.asin``); same shape."""
        return ops.asin(self)

    def acos(self) -> Tensor:
        """Elementwise inverse cosine (see ``mg.acos``); same shape."""
        return ops.acos(self)

    def atan(self) -> Tensor:
        """Elementwise inverse tangent (see ``mg.atan``); same shape."""
        return ops.atan(self)

    def asinh(self) -> Tensor:
        """Elementwise inverse hyperbolic sine (see ``mg.asinh``); same shape."""
        return ops.asinh(self)

    def acosh(self) -> Tensor:
        """Elementwise inverse hyperbolic cosine (see ``mg.acosh``); same shape."""
        return ops.acosh(self)

    def atanh(self) -> Tensor:
        """Elementwise inverse hyperbolic tangent (see ``mg.atanh``); same shape."""
        return ops.atanh(self)

    arcsin, arccos, arctan = asin, acos, atan
    arcsinh, arccosh, arctanh = asinh, acosh, atanh

    def atan2(self, other: Any) -> Tensor:
        """Elementwise ``atan2(self, other)``, the angle of (other, self) (see ``mg.atan2``); same shape."""
        return ops.atan2(self, other)

    arctan2 = atan2

    def hypot(self, other: Any) -> Tensor:
        """Elementwise ``sqrt(self**2 + other**2)`` (see ``mg.hypot``); same shape."""
        return ops.hypot(self, other)

    def log1p(self) -> Tensor:
        """Elementwise ``log(1 + x)``, accurate near 0 (see ``mg.log1p``); same shape."""
        return ops.log1p(self)

    def expm1(self) -> Tensor:
        """Elementwise ``exp(x) - 1``, accurate near 0 (see ``mg.expm1``); same shape."""
        return ops.expm1(self)

    def log2(self) -> Tensor:
        """Elementwise base-2 logarithm (see ``mg.log2``); same shape."""
        return ops.log2(self)

    def log10(self) -> Tensor:
        """Elementwise base-10 logarithm (see ``mg.log10``); same shape."""
        return ops.log10(self)

    def exp2(self) -> Tensor:
        """Elementwise ``2 ** x`` (see ``mg.exp2``); same shape."""
        return ops.exp2(self)

    def erf(self) -> Tensor:
        """Elementwise error function (see ``mg.erf``); same shape."""
        return ops.erf(self)

    def sign(self) -> Tensor:
        """Elementwise sign (-1, 0 or 1; zero gradient) (see ``mg.sign``); same shape."""
        return ops.sign(self)

    def reciprocal(self) -> Tensor:
        """Elementwise ``1 / x`` (see ``mg.reciprocal``); same shape."""
        return ops.reciprocal(self)

    def deg2rad(self) -> Tensor:
        """Elementwise degrees to radians (see ``mg.deg2rad``); same shape."""
        return ops.deg2rad(self)

    def rad2deg(self) -> Tensor:
        """Elementwise radians to degrees (see ``mg.rad2deg``); same shape."""
        return ops.rad2deg(self)

    def sinc(self) -> Tensor:
        """Elementwise normalized sinc ``sin(pi x) / (pi x)`` (see ``mg.sinc``); same shape."""
        return ops.sinc(self)

    def remainder(self, other: Any) -> Tensor:
        """Elementwise remainder ``x - floor(x / other) * other`` (PyTorch's ``%``)."""
        return ops.remainder(self, other)

    def __mod__(self, other: Any) -> Tensor:
        return ops.remainder(self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return ops.remainder(other, self)

    def tril(self, diagonal: int = 0) -> Tensor:
        """The lower triangle (``diagonal`` shifts it), zeros above (see ``mg.tril``)."""
        return ops.tril(self, diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        """The upper triangle (``diagonal`` shifts it), zeros below (see ``mg.triu``)."""
        return ops.triu(self, diagonal)

    def logsumexp(self, axis: int = -1, keepdims: bool = False) -> Tensor:
        """``log(sum(exp(self)))`` along ``axis``, computed stably (see ``mg.logsumexp``)."""
        return ops.logsumexp(self, axis, keepdims)

    # bool masks combine with & | ^ ~ (no gradient)
    def __and__(self, other: Any) -> Tensor:
        return Tensor._from_array(self.data & _raw(other))

    def __or__(self, other: Any) -> Tensor:
        return Tensor._from_array(self.data | _raw(other))

    def __xor__(self, other: Any) -> Tensor:
        return Tensor._from_array(self.data ^ _raw(other))

    def __invert__(self) -> Tensor:
        return Tensor._from_array(~self.data)

    # ------------------------------------------------------------ PyTorch conveniences
    def dim(self) -> int:
        """Number of dimensions (PyTorch's name for ``ndim``)."""
        return self.ndim

    def t(self) -> Tensor:
        """Transpose of a tensor with at most 2 dimensions (PyTorch's ``t()``)."""
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor with <= 2 dimensions, got shape {self.shape}; "
                             "use .transpose(dim0, dim1) or .permute")
        return self.T if self.ndim == 2 else self

    def contiguous(self) -> Tensor:
        """This tensor (minigrad's arrays need no contiguity for any op)."""
        return self

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        """The slice ``start : start + length`` along ``dim`` (differentiable)."""
        d = ops.normalize_axis(dim, self.ndim, "narrow")
        size = self.shape[d]
        begin = start + size if start < 0 else start
        if not 0 <= begin <= size or length < 0 or begin + length > size:
            raise IndexError(f"narrow: start {start} and length {length} do not fit dimension "
                             f"{dim} of size {size} (shape {self.shape})")
        return self[(slice(None),) * d + (slice(begin, begin + length),)]

    def type(self, dtype: Any = None) -> Any:
        """Without ``dtype``: the type name, e.g. ``"minigrad.FloatTensor"``; with it, a
        copy cast to ``dtype`` (a NumPy dtype or its name)."""
        if dtype is None:
            return "minigrad." + _TYPE_NAMES.get(np.dtype(self.dtype).name, "Tensor")
        return self.to_dtype(dtype)

    def sum_to_size(self, *size: Any) -> Tensor:
        """Sum broadcast dimensions away until the shape is ``size`` (which must
        broadcast to this tensor's shape)."""
        shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], tuple | list) else size
        try:
            ok = np.broadcast_shapes(tuple(shape), self.shape) == self.shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"sum_to_size: size {tuple(shape)} does not broadcast to the "
                             f"tensor's shape {self.shape}")
        return ops.sum_to(self, tuple(shape))

    def new_tensor(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        """A new leaf holding ``data`` with this tensor's dtype (unless given) and device."""
        array = data.data if isinstance(data, Tensor) else data
        return Tensor(array, dtype=dtype or self.dtype, device=self.device,
                      requires_grad=requires_grad)

    def new_full(self, size: Any, fill_value: Any, dtype: Any = None,
                 requires_grad: bool = False) -> Tensor:
        """A new tensor of shape ``size`` filled with ``fill_value``, this dtype and device."""
        xp = backend.xp_of(self.data)
        shape = (size,) if isinstance(size, int) else tuple(size)
        t = Tensor._from_array(xp.full(shape, fill_value, dtype=dtype or self.dtype))
        return t.requires_grad_(True) if requires_grad else t

    def new_zeros(self, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        """Zeros of shape ``size`` with this tensor's dtype and device."""
        return self.new_full(_size_arg(size), 0, dtype, requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        """Ones of shape ``size`` with this tensor's dtype and device."""
        return self.new_full(_size_arg(size), 1, dtype, requires_grad)


def _raw(value: Any) -> Any:
    return value.data if isinstance(value, Tensor) else value


def _size_arg(size: tuple[Any, ...]) -> tuple[int, ...]:
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], tuple | list) else size


_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
               "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}


def _is_dtype_name(name: str) -> bool:
    try:
        np.dtype(name)
    except TypeError:
        return False
    return True


def _to_array(data: Any, dtype: Any, device: str | None, keep_device: bool = True) -> Any:
    """Convert creation input to an array on ``device``, applying the dtype rules:
    float input gets the default float dtype, int and bool input keep theirs. Without
    ``device`` an array stays where it is (``keep_device``) or goes to the default."""
    if isinstance(data, Tensor):
        data = data.data
    target = backend.normalize_device(device) if device is not None else None
    if backend.is_array(data):
        if target is None:  # mg.tensor() uses the default device, as torch.tensor does
            target = backend.device_of(data) if keep_device else backend.get_default_device()
        if dtype is None and data.dtype.kind == "f" and data.dtype != backend.get_default_dtype():
            dtype = backend.get_default_dtype()
        if dtype is not None:
            with backend.array_context(data):
                data = data.astype(dtype, copy=False)
        return backend.to_device(data, target)
    if target is None:
        target = backend.get_default_device()
    array = np.asarray(data, dtype=dtype)
    if dtype is None and array.dtype.kind == "f":
        array = array.astype(backend.get_default_dtype(), copy=False)
    elif dtype is None and array.dtype.kind not in "biufc":
        raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} ({array.dtype})")
    return backend.to_device(array, target)


def _gradient_like(grad: Any, like: Tensor, op: str, name: str, like_name: str) -> Tensor:
    """``grad`` (Tensor, array or scalar) as a Tensor on ``like``'s device, for starting
    backward from ``like``; a gradient on another device is refused, naming both."""
    grad = ops.as_tensor_like(grad, like)
    ops.check_same_device(op, name, grad, like_name, like)
    return grad


# Bound after Tensor exists: autograd and the ops make Tensors, and Tensor's methods call
# them (the natural loop of the core: Tensor, its Functions and the engine that runs them).
from . import ops  # noqa: E402
from .autograd import engine  # noqa: E402
from .autograd.context import state  # noqa: E402
from .autograd.function import _wrap  # noqa: E402

# Tensor methods that take an axis accept dim=/axis= and keepdim=/keepdims= as well
for _name in ("sum", "mean", "var", "max", "min", "argmax", "argmin", "squeeze", "unsqueeze",
              "softmax", "log_softmax", "split", "chunk", "swapaxes", "logsumexp"):
    setattr(Tensor, _name, _dim_aliases(getattr(Tensor, _name)))
