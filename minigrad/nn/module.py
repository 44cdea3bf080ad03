"""Module and Parameter: the containers every layer is built from."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import numpy as np

from .. import backend
from ..autograd.context import name_scope
from ..autograd.function import OpError
from ..tensor import Tensor, _is_dtype_name, _to_array


class Parameter(Tensor):
    """A leaf Tensor that a Module registers as trainable (``requires_grad=True``)."""

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        if isinstance(data, Tensor):
            data = data.data
        # An array keeps its dtype (a float64 model stays float64); lists get the default.
        dtype = data.dtype if hasattr(data, "dtype") else None
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class StateDictKeyError(KeyError, RuntimeError):
    """Missing or unexpected keys in ``load_state_dict(strict=True)``; catchable as
    ``KeyError`` or as ``RuntimeError`` (what PyTorch raises)."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0]) if self.args else ""


class IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of every layer. Assigning a Parameter or a Module as an attribute
    registers it; parameters are kept in definition order, so ``parameters()`` and
    ``state_dict()`` are deterministic."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() was called; "
                f"call super().__init__() first in {type(self).__name__}.__init__"
            )
        for store in (self._parameters, self._modules, self._buffers):
            store.pop(name, None)
        self.__dict__.pop("_scope_paths", None)  # module scope names, rebuilt on call
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for store in ("_parameters", "_modules", "_buffers"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for store in (self._parameters, self._modules, self._buffers):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (None keeps the name with no parameter, like ``bias=False``)."""
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def register_buffer(self, name: str, value: Tensor | None) -> None:
        """Register a non-trainable tensor saved in ``state_dict`` (e.g. running stats)."""
        self.__dict__.pop(name, None)
        self._buffers[name] = value

    def add_module(self, name: str, module: Module | None) -> None:
        self.__dict__.pop("_scope_paths", None)
        self._modules[name] = module

    # ------------------------------------------------------------ traversal
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every descendant, depth first, each once."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, mod = stack.pop()
            if id(mod) in seen:
                continue
            seen.add(id(mod))
            yield name, mod
            children = [
                (f"{name}.{n}" if name else n, m) for n, m in mod._modules.items() if m is not None
            ]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` in definition order, shared parameters once."""
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_name, mod in modules:
            for name, p in mod._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        for mod_name, mod in self.named_modules(prefix):
            for name, b in mod._buffers.items():
                if b is not None:
                    yield (f"{mod_name}.{name}" if mod_name else name), b

    # ------------------------------------------------------------ modes and state
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active); returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode (dropout off); returns self."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of every parameter."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def to(self, device_or_dtype: Any) -> Module:
        """Move (or cast) every parameter and buffer in place; returns self.

        A device is a string such as ``"cpu"``, ``"CPU"``, ``"cuda:1"`` (as for
        ``Tensor.to``); anything else is a dtype, which casts the float tensors. The
        argument is checked before any tensor changes."""
        is_device = isinstance(device_or_dtype, str) and not _is_dtype_name(device_or_dtype)
        if is_device:
            try:
                dev = backend.normalize_device(device_or_dtype)
            except ValueError as exc:
                raise ValueError(f"{type(self).__name__}.to: {exc}") from exc
        else:
            try:
                dtype = np.dtype(device_or_dtype)
            except TypeError as exc:
                raise TypeError(
                    f"{type(self).__name__}.to: expected a device ('cpu', 'cuda', 'cuda:N') "
                    f"or a dtype, got {device_or_dtype!r}"
                ) from exc
        for t in list(self.parameters()) + [b for _, b in self.named_buffers()]:
            t._bump_version()
            if is_device:
                t.data = backend.to_device(t.data, dev)
                if t.grad is not None:
                    t.grad.data = backend.to_device(t.grad.data, dev)
            elif t.data.dtype.kind == "f":
                with backend.array_context(t.data):
                    t.data = t.data.astype(dtype)
                    if t.grad is not None:
                        t.grad.data = t.grad.data.astype(dtype)
        return self

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self, device: int = 0) -> Module:
        return self.to(f"cuda:{device}")

    def double(self) -> Module:
        return self.to(np.float64)

    def float(self) -> Module:
        return self.to(np.float32)

    def state_dict(self) -> OrderedDict[str, Tensor]:
        """Every parameter and buffer by dotted name (tensors sharing the data)."""
        out: OrderedDict[str, Tensor] = OrderedDict()
        for name, p in self.named_parameters():
            out[name] = p.detach()
        for name, b in self.named_buffers():
            out[name] = b.detach()
        return out

    def load_state_dict(self, state_dict: Any, strict: bool = True) -> IncompatibleKeys:
        """Copy values (Tensors or numpy arrays) into the parameters and buffers.

        Values are cast to each parameter's dtype and moved to its device. With
        ``strict``, missing or unexpected keys raise a KeyError naming them; a shape
        mismatch always raises a ValueError naming the key and both shapes; a value that
        is not a bool, integer or float array (object, string, structured, complex) a
        TypeError naming the key. Nothing is changed unless every key fits.
        """
        own = OrderedDict(list(self.named_parameters()) + list(self.named_buffers()))
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys: {', '.join(missing)}")
            if unexpected:
                parts.append(f"unexpected keys: {', '.join(unexpected)}")
            raise StateDictKeyError(f"load_state_dict for {type(self).__name__}: " + "; ".join(parts))
        staged = []
        for key, target in own.items():
            if key not in state_dict:
                continue
            array = _checked_value(type(self).__name__, key, state_dict[key], target)
            shape = tuple(array.shape)
            if shape != target.shape:
                raise OpError(
                    f"load_state_dict for {type(self).__name__}: size mismatch for {key!r}: "
                    f"the checkpoint has shape {shape}, the model has shape {target.shape}"
                )
            staged.append((target, _to_array(array, target.data.dtype, target.device)))
        for target, array in staged:  # nothing is written unless every key fits
            target.data = array.copy() if array is not target.data else array
            target._bump_version()
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ calling and printing
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"{type(self).__name__} has no forward(); subclasses must define it")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward``. Called from inside another module's ``forward``, the ops it
        records sit in the scope ``"<attribute path> (<class>)"`` (``"rnn (LSTM)"``),
        so pictures of the graph read like the model; the outermost call opens none."""
        calls = _calls.stack
        scope = _scope_name(calls[-1], self) if calls else None
        calls.append(self)
        try:
            if scope is None:
                return self._forward_on_device(args, kwargs)
            with name_scope(scope):
                return self._forward_on_device(args, kwargs)
        finally:
            calls.pop()

    def _forward_on_device(self, args: tuple, kwargs: dict) -> Any:
        for a in args:  # CuPy works on its current device: make it the input's
            if isinstance(a, Tensor):
                if not isinstance(a.data, np.ndarray):
                    with a.data.device:
                        return self.forward(*args, **kwargs)
                break
        return self.forward(*args, **kwargs)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


class _Calls(threading.local):
    """The modules whose ``forward`` is running on this thread, outermost first."""

    def __init__(self) -> None:
        self.stack: list[Module] = []


_calls = _Calls()


def _scope_name(caller: Module, module: Module) -> str:
    """``"<path> (<Class>)"``: ``module``'s attribute path inside ``caller``
    (``"layers.0"``), or its class alone when ``caller`` does not hold it."""
    cls = type(module).__name__
    for _ in range(2):  # a miss rebuilds the cache once (a module added since)
        paths = caller.__dict__.get("_scope_paths")
        if paths is None:
            paths = {id(m): p for p, m in caller.named_modules() if m is not caller}
            object.__setattr__(caller, "_scope_paths", paths)
        path = paths.get(id(module))
        if path is not None:
            return f"{path.replace('/', '.')} ({cls})" if path else cls
        caller.__dict__.pop("_scope_paths", None)
    paths[id(module)] = ""  # not held by caller: named by its class from now on
    return cls


def _checked_value(owner: str, key: str, value: Any, target: Tensor) -> Any:
    """The array of a ``load_state_dict`` value, refused unless it is plain numeric
    (an object or structured array would load as garbage or NaN weights)."""
    array = value.data if isinstance(value, Tensor) else value
    if not backend.is_array(array):
        try:
            array = np.asarray(array)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"load_state_dict for {owner}: value for {key!r} is a {type(value).__name__}, "
                "not an array"
            ) from exc
    dt = array.dtype
    allowed = "biuf" if target.dtype.kind in "biuf" else "biufc"
    if dt.kind not in allowed or dt.names is not None or dt.subdtype is not None:
        raise TypeError(
            f"load_state_dict for {owner}: value for {key!r} has dtype {dt} "
            f"({type(value).__name__}); expected a bool, integer or float array to cast "
            f"to the parameter's {target.dtype}"
        )
    return array


class Sequential(Module):
    """Modules applied one after another."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], dict):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def forward(self, x: Any) -> Any:
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class ModuleList(Module):
    """A list of modules whose parameters are registered."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())
