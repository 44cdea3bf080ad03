"""The strict CuPy stand-in: a device array that wraps a numpy array and behaves like
CuPy's where minigrad can get it wrong, and stricter where unsure.

What it models (CuPy's documented behaviour, made strict):

- ``ndarray`` is not a numpy array: ``__array__`` raises (CuPy: "Implicit conversion to
  a NumPy array is not allowed"), numpy ufuncs on it defer to its own operators, and
  ``np.asarray(device_array)`` fails.
- Kernels (ufuncs, reductions, methods, indexing) refuse numpy arrays and Python lists
  as array arguments (CuPy: "Unsupported type <class 'numpy.ndarray'>").
- Reductions return 0-d device arrays, never Python or numpy scalars.
- Several devices with a current-device context (``cupy.cuda.Device(n)``): allocation,
  random numbers and kernel outputs land on the current device, and a kernel refuses an
  array that lives on another device (CuPy without peer access; stricter than CuPy with).
- Host syncs (``bool() float() int() .item() .get() .tolist() asnumpy repr``) and
  transfers (host->device, device->host, device->device) are counted in ``COUNTERS``,
  each with the first caller outside this package, so a test can say where they happen.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DEVICE_COUNT = 2
_HERE = os.path.dirname(os.path.abspath(__file__))


@dataclass
class Counters:
    """Host syncs and transfers since the last ``reset()``; ``events`` says where."""

    syncs: int = 0
    h2d: int = 0
    d2h: int = 0
    d2d: int = 0
    events: list[tuple[str, str]] = field(default_factory=list)

    def reset(self) -> None:
        self.syncs = self.h2d = self.d2h = self.d2d = 0
        self.events.clear()

    def record(self, kind: str) -> None:
        if kind == "sync":
            self.syncs += 1
        else:
            setattr(self, kind, getattr(self, kind) + 1)
        self.events.append((kind, _caller()))

    def snapshot(self) -> dict[str, int]:
        return {"syncs": self.syncs, "h2d": self.h2d, "d2h": self.d2h, "d2d": self.d2d}


COUNTERS = Counters()


def _caller() -> str:
    """``file:line function`` of the innermost frame outside the stand-in."""
    for frame in reversed(traceback.extract_stack(limit=40)[:-2]):
        if not frame.filename.startswith(_HERE):
            return f"{frame.filename}:{frame.lineno} {frame.name}"
    return "?"


# ---------------------------------------------------------------- devices
class _DeviceState:
    current = 0


class Device:
    """``cupy.cuda.Device(n)``: a GPU id and a context that makes it current."""

    def __init__(self, device: Any = None) -> None:
        if device is None:
            device = _DeviceState.current
        device = int(device.id if isinstance(device, Device) else device)
        if not 0 <= device < DEVICE_COUNT:
            raise RuntimeError(f"CUDARuntimeError: cudaErrorInvalidDevice: invalid device ordinal {device}")
        self.id = device
        self._previous: list[int] = []

    def __enter__(self) -> Device:
        self._previous.append(_DeviceState.current)
        _DeviceState.current = self.id
        return self

    def __exit__(self, *exc: Any) -> None:
        _DeviceState.current = self._previous.pop()

    def use(self) -> None:
        _DeviceState.current = self.id

    def synchronize(self) -> None:
        COUNTERS.record("sync")

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<CUDA Device {self.id}>"


class runtime:  # noqa: N801 - CuPy's name (a module there)
    CUDARuntimeError = RuntimeError

    @staticmethod
    def getDeviceCount() -> int:  # noqa: N802 - CuPy's name
        return DEVICE_COUNT

    @staticmethod
    def getDevice() -> int:  # noqa: N802 - CuPy's name
        return _DeviceState.current

    @staticmethod
    def setDevice(device: int) -> None:  # noqa: N802 - CuPy's name
        Device(device).use()


# ---------------------------------------------------------------- kernel arguments
def _unwrap(value: Any, where: str) -> Any:
    """A kernel argument as numpy, refusing what CuPy refuses (and arrays elsewhere)."""
    if isinstance(value, ndarray):
        if value._dev != _DeviceState.current:
            raise ValueError(
                f"{where}: the device where the array resides ({value._dev}) is different from "
                f"the current device ({_DeviceState.current}). Peer access is unavailable "
                "between these devices."
            )
        return value._a
    if isinstance(value, np.ndarray):
        raise TypeError(f"{where}: Unsupported type {type(value)}")
    if isinstance(value, list | tuple):
        items = [_unwrap(v, where) for v in value]
        if any(isinstance(v, np.ndarray) for v in items) and not all(
            isinstance(v, np.ndarray) for v in items
        ):
            raise TypeError(f"{where}: a sequence mixing arrays and host values {type(value)}")
        return type(value)(items)
    return value


def _wrap(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "O":
            raise TypeError("cupy: object arrays are not supported")
        return ndarray._make(value, _DeviceState.current)
    if isinstance(value, np.generic):  # reductions give 0-d device arrays
        return ndarray._make(np.asarray(value), _DeviceState.current)
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def kernel(fn: Callable, where: str) -> Callable:
    """``fn`` (a numpy function) as a device kernel with CuPy's argument rules."""

    def run(*args: Any, **kwargs: Any) -> Any:
        out = kwargs.get("out")
        if out is not None and not isinstance(out, ndarray):
            raise TypeError(f"{where}: Output arguments must be cupy.ndarray, got {type(out)}")
        np_args = [_unwrap(a, where) for a in args]
        np_kwargs = {k: _unwrap(v, where) for k, v in kwargs.items()}
        result = fn(*np_args, **np_kwargs)
        if out is not None and result is np_kwargs["out"]:
            return out
        return _wrap(result)

    run.__name__ = where
    return run


def _index(index: Any) -> Any:
    """An index for ``__getitem__``/``__setitem__``: device arrays, ints, slices, None, ...
    Host arrays and lists are refused (they would be an implicit upload)."""
    if isinstance(index, tuple):
        return tuple(_index(i) for i in index)
    if isinstance(index, list):
        raise TypeError("cupy stand-in: a list index is an implicit host->device upload; "
                        "index with a device array")
    return _unwrap(index, "ndarray.__getitem__")


_SYNC_SIZE_ERROR = "only size-1 arrays can be converted to Python scalars"


class ndarray:  # noqa: N801 - CuPy's name
    """A device array: a numpy array plus the id of the device it lives on."""

    __slots__ = ("_a", "_dev")
    __array_ufunc__ = None  # numpy hands binary ops to our reflected operators

    def __init__(self, shape: Any, dtype: Any = float) -> None:
        self._a = np.empty(shape, dtype=dtype)
        self._dev = _DeviceState.current

    @classmethod
    def _make(cls, array: np.ndarray, dev: int) -> ndarray:
        obj = cls.__new__(cls)
        obj._a = array
        obj._dev = dev
        return obj

    # ---------------------------------------------------------------- refusals
    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
            "construct a NumPy array explicitly."
        )

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        raise TypeError(f"cupy stand-in: numpy.{func.__name__} called on a device array; use cupy")

    # ---------------------------------------------------------------- metadata
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    device = property(lambda self: Device(self._dev))

    @property
    def base(self) -> ndarray | None:
        b = self._a.base
        return ndarray._make(b, self._dev) if isinstance(b, np.ndarray) else None

    @property
    def T(self) -> ndarray:  # noqa: N802
        return self.transpose()

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self):  # noqa: ANN204
        return (self[i] for i in range(len(self)))

    # ---------------------------------------------------------------- host crossings
    def get(self, stream: Any = None, order: str = "C", out: Any = None) -> np.ndarray:
        COUNTERS.record("sync")
        COUNTERS.record("d2h")
        return np.array(self._a, order=order)

    def item(self) -> Any:
        COUNTERS.record("sync")
        return self._a.item()

    def tolist(self) -> Any:
        COUNTERS.record("sync")
        return self._a.tolist()

    def _scalar(self) -> Any:
        if self._a.size != 1:
            raise TypeError(_SYNC_SIZE_ERROR)
        COUNTERS.record("sync")
        return self._a.reshape(())[()]

    def __bool__(self) -> bool:
        if self._a.size != 1:
            raise ValueError(
                "The truth value of an array with more than one element is ambiguous."
            )
        return bool(self._scalar())

    def __float__(self) -> float:
        return float(self._scalar())

    def __int__(self) -> int:
        return int(self._scalar())

    def __index__(self) -> int:
        if self._a.dtype.kind not in "iub" or self._a.ndim:
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        return int(self._scalar())

    def __complex__(self) -> complex:
        return complex(self._scalar())

    def __repr__(self) -> str:
        COUNTERS.record("sync")
        return repr(self._a).replace("array(", "array(", 1)

    def __str__(self) -> str:
        COUNTERS.record("sync")
        return str(self._a)

    def set(self, arr: np.ndarray, stream: Any = None) -> None:
        """Upload host data into this array (explicit)."""
        COUNTERS.record("h2d")
        self._a[...] = np.asarray(arr)

    # ---------------------------------------------------------------- indexing
    def __getitem__(self, index: Any) -> Any:
        if self._dev != _DeviceState.current:
            _unwrap(self, "ndarray.__getitem__")
        return _wrap(self._a[_index(index)])

    def __setitem__(self, index: Any, value: Any) -> None:
        _unwrap(self, "ndarray.__setitem__")
        self._a[_index(index)] = _unwrap(value, "ndarray.__setitem__")

    # ---------------------------------------------------------------- methods
    def astype(self, dtype: Any, order: str = "K", casting: Any = None, subok: Any = None,
               copy: bool = True) -> ndarray:
        if not copy and np.dtype(dtype) == self._a.dtype:
            return self
        return kernel(np.ndarray.astype, "ndarray.astype")(self, dtype, copy=copy)

    def view(self, dtype: Any = None) -> ndarray:
        return ndarray._make(self._a if dtype is None else self._a.view(dtype), self._dev)

    def __getattr__(self, name: str) -> Any:
        if name in _METHODS:
            fn = getattr(np.ndarray, name)
            return lambda *args, **kwargs: kernel(fn, f"ndarray.{name}")(self, *args, **kwargs)
        raise AttributeError(f"'cupy.ndarray' object has no attribute {name!r}")

    def __copy__(self) -> ndarray:
        return self.copy()

    def __deepcopy__(self, memo: Any) -> ndarray:
        return self.copy()

    def __reduce__(self) -> Any:
        raise TypeError("cupy stand-in: pickling a device array would be a silent host copy")


_METHODS = {
    "all", "any", "argmax", "argmin", "argsort", "clip", "conj", "copy", "cumsum", "diagonal",
    "dot", "fill", "flatten", "max", "mean", "min", "nonzero", "prod", "ravel", "repeat",
    "reshape", "round", "sort", "squeeze", "std", "sum", "swapaxes", "take", "trace",
    "transpose", "var",
}


def _operator(name: str) -> Callable:
    fn = getattr(np.ndarray, name)
    k = kernel(fn, f"ndarray.{name}")
    in_place = name.startswith("__i") and name not in ("__invert__", "__index__")

    def op(self: ndarray, *args: Any) -> Any:
        if args and not isinstance(args[0], ndarray | bool | int | float | complex | np.generic):
            if isinstance(args[0], np.ndarray):
                raise TypeError(f"ndarray.{name}: Unsupported type {type(args[0])}")
            return NotImplemented
        result = k(self, *args)
        if in_place:
            return self  # the same array object, as CuPy's in-place operators return
        return result

    op.__name__ = name
    return op


for _name in (
    "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
    "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__pow__",
    "__rpow__", "__matmul__", "__rmatmul__", "__neg__", "__pos__", "__abs__", "__invert__",
    "__and__", "__rand__", "__or__", "__ror__", "__xor__", "__rxor__", "__lt__", "__le__",
    "__gt__", "__ge__", "__eq__", "__ne__", "__iadd__", "__isub__", "__imul__",
    "__itruediv__", "__ipow__", "__iand__", "__ior__", "__lshift__", "__rshift__",
):
    setattr(ndarray, _name, _operator(_name))
ndarray.__hash__ = None  # type: ignore[assignment]


# ---------------------------------------------------------------- module functions
def asarray(obj: Any, dtype: Any = None, order: Any = None, *, blocking: bool = False) -> ndarray:
    """Device array of ``obj``: no copy when already here; an upload from the host is
    counted as an h2d transfer, a copy from another device as d2d."""
    if isinstance(obj, ndarray):
        if obj._dev == _DeviceState.current:
            return obj if dtype is None or np.dtype(dtype) == obj.dtype else obj.astype(dtype)
        COUNTERS.record("d2d")
        return ndarray._make(np.array(obj._a, dtype=dtype), _DeviceState.current)
    COUNTERS.record("h2d")
    return ndarray._make(np.array(obj, dtype=dtype), _DeviceState.current)


def array(obj: Any, dtype: Any = None, copy: bool = True, order: str = "K", subok: bool = False,
          ndmin: int = 0, *, blocking: bool = False) -> ndarray:
    if isinstance(obj, ndarray) and obj._dev == _DeviceState.current:
        return ndarray._make(np.array(obj._a, dtype=dtype, copy=copy, ndmin=ndmin), obj._dev)
    out = asarray(obj, dtype)
    if ndmin:
        out = ndarray._make(np.array(out._a, ndmin=ndmin, copy=False), out._dev)
    return out


def asnumpy(a: Any, stream: Any = None, order: str = "C", out: Any = None, *,
            blocking: bool = True) -> np.ndarray:
    if isinstance(a, ndarray):
        return a.get(order=order)
    return np.asarray(a, order=order)


def get_array_module(*args: Any) -> Any:
    return sys.modules["cupy"] if any(isinstance(a, ndarray) for a in args) else np


def scatter_add(a: ndarray, slices: Any, value: Any) -> None:
    """``cupyx.scatter_add``: unbuffered ``a[slices] += value``."""
    target = _unwrap(a, "cupyx.scatter_add")
    np.add.at(target, _index(slices), _unwrap(value, "cupyx.scatter_add"))


# ---------------------------------------------------------------- random
class Generator:
    """``cupy.random.Generator``: its state lives on the device current at creation."""

    def __init__(self, seed: Any = None) -> None:
        self._rng = np.random.default_rng(seed)
        self._dev = _DeviceState.current

    def _draw(self, name: str, *args: Any, **kwargs: Any) -> ndarray:
        if self._dev != _DeviceState.current:
            raise ValueError(
                f"Generator.{name}: the generator lives on device {self._dev} but the current "
                f"device is {_DeviceState.current}"
            )
        return _wrap(np.asarray(getattr(self._rng, name)(*args, **kwargs)))

    def random(self, size: Any = None, dtype: Any = np.float64, out: Any = None) -> ndarray:
        return self._draw("random", size, dtype=dtype)

    def standard_normal(self, size: Any = None, dtype: Any = np.float64, out: Any = None) -> ndarray:
        return self._draw("standard_normal", size, dtype=dtype)

    def uniform(self, low: float = 0.0, high: float = 1.0, size: Any = None,
                dtype: Any = np.float64) -> ndarray:
        return self._draw("uniform", low, high, size).astype(dtype, copy=False)

    def integers(self, low: int, high: int | None = None, size: Any = None,
                 dtype: Any = np.int64, endpoint: bool = False) -> ndarray:
        return self._draw("integers", low, high, size, dtype=dtype, endpoint=endpoint)


def default_rng(seed: Any = None) -> Generator:
    return Generator(seed)


# Names numpy has that CuPy lacks (or that would bypass the checks): refused.
NOT_IN_CUPY = {"add_at", "save", "load", "savez", "fromfile", "frombuffer", "vectorize",
               "frompyfunc", "array2string", "set_printoptions", "testing"}


_CTYPES = {"float": np.float32, "double": np.float64, "float16": np.float16}
_C_FUNCS = {"exp": np.exp, "log": np.log, "tanh": np.tanh, "max": np.maximum, "min": np.minimum}


class ElementwiseKernel:
    """``cupy.ElementwiseKernel`` for the straight-line kernels minigrad generates:
    statements ``ctype name = expr;`` and ``out = expr;`` over broadcast operands, run on
    the host with NumPy, each assignment rounded to its declared C type."""

    def __init__(self, in_params: str, out_params: str, operation: str, name: str = "kernel") -> None:
        self.ins = [p.split()[-1] for p in in_params.split(",") if p.strip()]
        self.outs = [(p.split()[-1], _CTYPES[p.split()[0]]) for p in out_params.split(",") if p.strip()]
        self.lines = [s.strip() for s in operation.split(";") if s.strip()]
        self.name = name

    def __call__(self, *args: Any) -> Any:
        """Fresh output arrays of the operands' broadcast shape (a tuple when several)."""
        where = f"ElementwiseKernel {self.name}"
        if len(args) != len(self.ins):
            raise TypeError(f"{where}: takes {len(self.ins)} inputs, got {len(args)}")
        arrays = [_unwrap(a, where) for a in args]
        shape = np.broadcast_shapes(*[np.shape(a) for a in arrays])
        env: dict[str, Any] = dict(_C_FUNCS)
        env.update(zip(self.ins, arrays))
        out_types = dict(self.outs)
        for line in self.lines:
            target, expr = (s.strip() for s in line.split("=", 1))
            parts = target.split()
            ctype = _CTYPES[parts[0]] if len(parts) == 2 else out_types[parts[-1]]
            env[parts[-1]] = np.asarray(eval(expr, {"__builtins__": {}}, env), dtype=ctype)
        outs = tuple(_wrap(np.broadcast_to(env[n], shape).astype(t)) for n, t in self.outs)
        return outs if len(outs) > 1 else outs[0]
