"""Function: one recorded op. ``forward`` works on raw arrays, ``backward`` on Tensors.

Because every ``backward`` is written with Tensor ops, running it with recording on
(``create_graph=True``) builds the graph of the gradient itself, which is how
higher-order derivatives come for free.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import device_of
from .context import state


class Function:
    """Base class of every primitive op.

    Subclasses implement ``forward(self, *arrays) -> array | tuple[array, ...]`` and
    ``backward(self, *grads: Tensor) -> Tensor | None | tuple[Tensor | None, ...]``
    (one gradient per input, ``None`` where an input needs none). Keyword arguments of
    ``apply`` become attributes of the instance (``axis``, ``shape`` ...).

    Class flags say what backward needs, so nothing else is kept alive:
    ``save_inputs`` keeps the input Tensors (``self.inputs``), ``save_output`` keeps the
    output array, read back as a Tensor with ``self.output()``.
    """

    save_inputs = False
    save_output = False
    # view: True when the outputs always alias the first input's memory (they then share
    # its version counter), "maybe" when ``self.aliases(out, input)`` decides per call
    view: bool | str = False
    n_out = 1
    retained = None  # set per instance by Tensor.retain_grad()

    # Set by apply when the op is recorded:
    #   next              one edge per input: (Function, output index), (leaf Tensor, 0) or None
    #   needs_input_grad  one bool per input
    #   scope             the name_scope path active at creation
    #   out_shape         shape of the output (a tuple of shapes for multi-output ops)
    #   retained          {output index: weakref to a Tensor that called retain_grad()}

    @classmethod
    def apply(cls, *inputs: Tensor, **attrs: Any) -> Any:
        """Run ``forward`` on the inputs' arrays and record the op when needed."""
        fn = cls.__new__(cls)
        if attrs:
            fn.__dict__ = attrs  # a fresh dict made by the call: adopt it
        if len(inputs) == 1:
            arrays = (inputs[0].data,)
        else:
            arrays = [t.data for t in inputs]
            first = type(arrays[0])  # same device: numpy arrays all share one type
            for a in arrays:
                if type(a) is not first or (first is not np.ndarray and a.device != arrays[0].device):
                    _raise_device_mix(cls, inputs)
        try:
            if isinstance(arrays[0], np.ndarray):
                out = fn.forward(*arrays)
            else:
                with arrays[0].device:  # CuPy allocates and runs kernels on the current device
                    out = fn.forward(*arrays)
        except (ValueError, IndexError, TypeError) as exc:
            if isinstance(exc, OpError):
                raise
            raise _input_error(cls, inputs, exc) from exc
        st = state
        if st.anomaly:
            _check_finite(fn, out, "forward")
        if st.grad_enabled:
            for t in inputs:
                if t.requires_grad:
                    break
            else:
                st = None
        else:
            st = None
        if cls.view:
            return _share_versions(fn, inputs[0], out, st is not None)
        if type(out) is tuple:
            if st is None:
                return tuple(_wrap(o, None, 0) for o in out)
            fn._record(inputs)
            fn.n_out = len(out)
            fn.out_shape = tuple(o.shape for o in out)
            outs = tuple(_wrap(o, fn, i) for i, o in enumerate(out))
            if cls.save_output:
                fn.out = out
                fn.out_versions = tuple(_watch(t) for t in outs)
            return outs
        if st is None:
            return _wrap(out, None, 0)
        fn._record(inputs)
        fn.out_shape = out.shape
        t = _wrap(out, fn, 0)
        if cls.save_output:  # _watch(t), inlined: this runs once per recorded op
            fn.out = out
            t._version = counter = [0]
            fn.out_versions = ((counter, 0),)
        return t

    def aliases(self, out: Any, array: Any) -> bool:
        """For ``view = "maybe"`` ops: whether this call's output aliases ``array``."""
        return may_alias(out, array)

    def _record(self, inputs: tuple[Tensor, ...]) -> None:
        edges = []
        needs = []
        for t in inputs:
            if not t.requires_grad:
                edges.append(None)
                needs.append(False)
            else:
                edges.append((t, 0) if t.grad_fn is None else (t.grad_fn, t._out_idx))
                needs.append(True)
        self.next = tuple(edges)
        self.needs_input_grad = tuple(needs)
        self.scope = state.scope
        if self.save_inputs:
            self.inputs = inputs
            self.versions = tuple(0 if t._version is None else t._version[0] for t in inputs)

    @property
    def name(self) -> str:
        """The op's name, e.g. ``"MatMul"``."""
        return type(self).__name__

    def output(self, index: int | None = None) -> Tensor:
        """The saved output as a Tensor whose grad_fn is this op (for create_graph);
        it shares the output's in-place version counter."""
        i = 0 if index is None else index
        t = _wrap(self.out if index is None else self.out[index], self, i)
        t._version = self.out_versions[i][0]
        return t

    def check_versions(self) -> None:
        """Raise if a saved input or output was modified in place after the forward."""
        if self.save_inputs:
            for i, (t, v) in enumerate(zip(self.inputs, self.versions)):
                now = 0 if t._version is None else t._version[0]
                if now != v:
                    self._modified(f"input {i} (shape {t.shape}) or a tensor it is a view of", v, now)
        if self.save_output:
            for i, (counter, v) in enumerate(self.out_versions):
                if counter[0] != v:
                    what = "output" if self.n_out == 1 else f"output {i}"
                    self._modified(f"{what} (shape {self._shape_of(i)})", v, counter[0])

    def _shape_of(self, index: int) -> tuple[int, ...]:
        return tuple(self.out_shape if self.n_out == 1 else self.out_shape[index])

    def _modified(self, what: str, before: int, now: int) -> None:
        scope = self.scope or "<top level>"
        raise RuntimeError(
            f"backward of {self.name} (scope {scope!r}): its {what} was modified in place "
            f"after the forward pass (version {before} -> {now}); one of the variables "
            "needed for gradient computation has been modified by an inplace operation, so "
            "its gradient would be wrong. Modify a copy, or run backward before the in-place "
            "change (e.g. before optimizer.step())"
        )

    def release(self) -> None:
        """Drop what backward needed; the op can no longer be backpropagated."""
        self.next = None
        self.__dict__.pop("inputs", None)
        self.__dict__.pop("versions", None)
        self.__dict__.pop("out", None)
        self.__dict__.pop("out_versions", None)

    def __repr__(self) -> str:
        scope = f" scope={self.scope!r}" if getattr(self, "scope", "") else ""
        return f"<{self.name}{scope}>"


class OpError(ValueError, RuntimeError):
    """Bad input to an op: wrong shapes, dtypes or indices. Catchable as either
    ``ValueError`` (Python's convention) or ``RuntimeError`` (PyTorch's)."""


def _wrap(array: Any, grad_fn: Function | None, index: int) -> Tensor:
    t = Tensor.__new__(Tensor)
    if type(array) is not np.ndarray and isinstance(array, np.generic):
        array = np.asarray(array)
    t.data = array
    t.grad = None
    t.grad_fn = grad_fn
    t.requires_grad = grad_fn is not None
    t._out_idx = index
    t._version = None
    return t


def _share_versions(fn: Function, base: Tensor, out: Any, record: bool) -> Any:
    """Wrap the outputs of a view op (reshape, transpose, slicing, split, broadcast_to):
    outputs that alias ``base``'s memory share its in-place version counter, as views do
    in PyTorch, so changing either later is caught by a graph that saved the other
    (``W.T`` saved by a matmul, then ``optimizer.step()`` on ``W``)."""
    if type(out) is tuple:
        if record:
            fn._record((base,))
            fn.n_out = len(out)
            fn.out_shape = tuple(o.shape for o in out)
            outs = tuple(_wrap(o, fn, i) for i, o in enumerate(out))
        else:
            outs = tuple(_wrap(o, None, 0) for o in out)
    else:
        if record:
            fn._record((base,))
            fn.out_shape = out.shape
        outs = (_wrap(out, fn if record else None, 0),)
    if fn.view is True or fn.aliases(out, base.data):
        counter = base._version
        if counter is None:
            base._version = counter = [0]
        for t in outs:
            t._version = counter
    return outs if type(out) is tuple else outs[0]


def may_alias(view: Any, array: Any) -> bool:
    """Whether ``view`` may share memory with ``array``: NumPy's bounds check; on CuPy
    any view counts (conservative: a false alarm raises, it never hides a change)."""
    if isinstance(view, np.ndarray):
        return np.may_share_memory(view, array)
    return getattr(view, "base", None) is not None


def _watch(t: Tensor) -> tuple[list[int], int]:
    """Give an output an in-place version counter now and remember its value, so that a
    later ``zero_()`` or ``x[i] = v`` on the output is caught by ``check_versions``."""
    t._version = counter = [0]
    return counter, 0


def grad_formula(expr: Any, *args: Any) -> Tensor:
    """Evaluate a gradient formula written once for both Tensors and arrays.

    With recording on (``create_graph=True``) ``expr`` runs on the Tensors, so the
    gradient gets a graph of its own; otherwise it runs on their raw arrays and the
    result is wrapped once, which skips one op record per operator in the formula.
    The formula may only use operators and methods Tensors and arrays share."""
    if state.grad_enabled:
        return expr(*args)
    return _wrap(expr(*[a.data if isinstance(a, Tensor) else a for a in args]), None, 0)


def _describe(inputs: tuple[Tensor, ...]) -> str:
    return ", ".join(f"{tuple(t.data.shape)} {t.data.dtype}" for t in inputs)


def _input_error(cls: type, inputs: tuple[Tensor, ...], exc: Exception) -> Exception:
    message = f"{cls.__name__}: invalid input(s) [{_describe(inputs)}]: {exc}"
    if isinstance(exc, ValueError):
        return OpError(message)
    if type(exc) in (IndexError, TypeError):
        return type(exc)(message)
    # numpy's own subclasses (e.g. its "no loop for these dtypes" error) take other args
    return (IndexError if isinstance(exc, IndexError) else TypeError)(message)


def _raise_device_mix(cls: type, inputs: tuple[Tensor, ...]) -> None:
    devices = [device_of(t.data) for t in inputs]
    raise RuntimeError(
        f"{cls.__name__}: all inputs must be on the same device, got {', '.join(devices)} "
        f"(shapes {[tuple(t.shape) for t in inputs]}); move them with .to(device) first"
    )


def _check_finite(fn: Function, arrays: Any, phase: str) -> None:
    from ..backend import array_context, xp_of

    items = arrays if isinstance(arrays, tuple) else (arrays,)
    for a in items:
        if a is None:
            continue
        data = a.data if isinstance(a, Tensor) else a
        if data.dtype.kind not in "fc":
            continue
        with array_context(data):
            finite = bool(xp_of(data).isfinite(data).all())
        if not finite:
            scope = getattr(fn, "scope", None) or state.scope or "<top level>"
            raise RuntimeError(
                f"detect_anomaly: {fn.name} produced NaN/Inf in its {phase} "
                f"(scope {scope!r}, output shape {tuple(data.shape)})"
            )


# Imported last: tensor.py binds the ops, which need Function defined first.
from ..tensor import Tensor  # noqa: E402
