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


def new_parameter(shape: tuple[int, ...], device: Any = None, dtype: Any = None) -> Parameter:
    """A zero Parameter of ``shape`` for a layer to initialise, on ``device`` with ``dtype``
    (the default device and float dtype where None)."""
    dev = backend.normalize_device(device)
    dt = backend.get_default_dtype() if dtype is None else dtype
    with backend.device_context(dev):  # CuPy allocates on the current device
        return Parameter(backend.get_xp(dev).zeros(shape, dtype=dt))


class StateDictKeyError(KeyError, RuntimeError):
    """Missing or unexpected keys in ``load_state_dict(strict=True)``; catchable as
    ``KeyError`` or as ``RuntimeError`` (what PyTorch raises)."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0]) if self.args else ""


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` returns: the missing and the unexpected keys."""
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
        # re-assigning a parameter (weight tying) keeps its place in the order, as in PyTorch
        keep = (self._parameters if isinstance(value, Parameter)
                else self._modules if isinstance(value, Module) else None)
        for store in (self._parameters, self._modules, self._buffers):
            if store is not keep:
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
        """Register ``module`` (or None) as the child ``name``."""
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
        """This module and every module below it, depth first."""
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """``(name, module)`` for each direct child."""
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self) -> Iterator[Module]:
        """Each direct child module."""
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
        """Every parameter (of the children too when ``recurse``), each once."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """``(dotted name, tensor)`` for every buffer of this module and below."""
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
        """Set ``requires_grad`` on every parameter; returns the module."""
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
        """Move every parameter and buffer to the host; returns the module."""
        return self.to("cpu")

    def cuda(self, device: int = 0) -> Module:
        """Move every parameter and buffer to GPU ``device``; returns the module."""
        return self.to(f"cuda:{device}")

    def double(self) -> Module:
        """Cast floating parameters and buffers to float64; returns the module."""
        return self.to(np.float64)

    def float(self) -> Module:
        """Cast floating parameters and buffers to float32; returns the module."""
        return self.to(np.float32)

    def state_dict(self) -> OrderedDict[str, Tensor]:
        """Every parameter and buffer by dotted name (tensors sharing the data); a tied
        (shared) tensor is listed under each of its names, as in PyTorch."""
        return OrderedDict((name, t.detach()) for name, t in _state_items(self))

    def load_state_dict(self, state_dict: Any, strict: bool = True) -> IncompatibleKeys:
        """Copy values (Tensors or numpy arrays) into the parameters and buffers.

        Values are cast to each parameter's dtype and moved to its device. With
        ``strict``, missing or unexpected keys raise a KeyError naming them; a shape
        mismatch always raises a ValueError naming the key and both shapes; a value that
        is not a bool, integer or float array (object, string, structured, complex) a
        TypeError naming the key. Nothing is changed unless every key fits.
        """
        own = OrderedDict(_state_items(self))
        missing = _missing_keys(own, state_dict)
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
        _check_tied_agree(type(self).__name__, own, state_dict)
        for target, array in staged:  # nothing is written unless every key fits
            target.data = array.copy() if array is not target.data else array
            target._bump_version()
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ calling and printing
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation of the module; every subclass defines it (call the module, not this)."""
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
        """Extra text inside this module's ``repr`` (subclasses add their sizes)."""
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
        """Each module applied in turn to ``x``; returns the last one's output."""
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
        """Add ``module`` at the end; returns the list."""
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Add each of ``modules`` at the end; returns the list."""
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


# ------------------------------------------------------------------ state dict names
def _state_items(module: Module, prefix: str = "") -> list[tuple[str, Tensor]]:
    """``(dotted name, tensor)`` for every parameter and buffer, in PyTorch's order (each
    module's parameters, its buffers, then its children), a shared tensor or module under
    every name it has (PyTorch's ``state_dict`` keys)."""
    out: list[tuple[str, Tensor]] = []
    stack: list[tuple[str, Module, tuple[int, ...]]] = [(prefix, module, ())]
    while stack:
        name, mod, ancestors = stack.pop()
        dot = f"{name}." if name else ""
        out.extend((dot + n, p) for n, p in mod._parameters.items() if p is not None)
        out.extend((dot + n, b) for n, b in mod._buffers.items() if b is not None)
        path = ancestors + (id(mod),)
        children = [(dot + n, m, path) for n, m in mod._modules.items()
                    if m is not None and id(m) not in path]  # a cycle is walked once
        stack.extend(reversed(children))
    return out


def _missing_keys(own: OrderedDict[str, Tensor], state_dict: Any) -> list[str]:
    """Keys of ``own`` absent from ``state_dict``; a tied tensor counts as present when
    any of its names is (checkpoints that list it once still load)."""
    present = {id(t) for k, t in own.items() if k in state_dict}
    return [k for k, t in own.items() if k not in state_dict and id(t) not in present]


def _check_tied_agree(owner: str, own: OrderedDict[str, Tensor], state_dict: Any) -> None:
    """Refuse a checkpoint that gives one tied tensor different values under its names."""
    first: dict[int, str] = {}
    for key, t in own.items():
        if key not in state_dict:
            continue
        if id(t) not in first:
            first[id(t)] = key
            continue
        other = first[id(t)]
        a, b = (backend.to_device(_value_array(state_dict[k]), "cpu") for k in (other, key))
        if np.shape(a) != np.shape(b) or not np.array_equal(a, b, equal_nan=True):
            raise OpError(
                f"load_state_dict for {owner}: {other!r} and {key!r} name the same (tied) "
                "tensor in the model, but the checkpoint gives them different values"
            )


def _value_array(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.data
    return value if backend.is_array(value) else np.asarray(value)
