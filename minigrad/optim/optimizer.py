"""Optimizer: the base class with PyTorch's parameter groups and state dicts.

Updates work on the parameters' raw arrays (``p.data``) in place, outside the graph,
with the array module of those arrays, so the same code runs on NumPy and CuPy.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from .. import backend
from ..autograd.function import OpError
from ..tensor import Tensor

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]


class _Required:
    """Marks a hyperparameter with no default (it must be given per group)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class: holds ``param_groups`` (a list of dicts) and per-parameter ``state``.

    Subclasses pass their ``defaults`` to ``__init__`` and define ``step()``, which
    calls ``_validate_step()`` first and then updates every parameter that has a
    gradient, so a refused step changes nothing. ``params`` may also be
    ``model.named_parameters()`` (PyTorch 2.x): each group then keeps
    ``"param_names"``, and errors name the parameter. ``state`` maps each parameter (hashed
    by identity) to a dict of arrays and its step count: ``optimizer.state[p]``.
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(
                f"{self._name}: params should be an iterable of Tensors or of dicts, got a "
                "single Tensor; pass [tensor] or model.parameters()"
            )
        groups = list(params)
        if not groups:
            raise ValueError(f"{self._name} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @property
    def _name(self) -> str:
        return type(self).__name__

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_on_device", False):
            cls.step = _on_params_device(step)

    def _device_context(self) -> Any:
        """Check that the parameters stepped are on one device, with their gradients and
        state there too, and return that device's context (CuPy updates run on the
        current device).

        State made on another device (the module was moved with ``.to()`` after a step)
        is moved to its parameter's device, as ``load_state_dict`` places it: the
        optimizer follows its parameters. A gradient on another device than its
        parameter is refused, naming both."""
        device = None
        for group in self.param_groups:
            for i, p in enumerate(group["params"]):
                if p.grad is None:
                    continue
                here = backend.device_of(p.data)
                grad_device = backend.device_of(p.grad.data)
                if grad_device != here:
                    raise RuntimeError(
                        f"{self._name}.step: parameter {i} (shape {tuple(p.shape)}) is on "
                        f"{here} but its gradient is on {grad_device}; move both with .to()"
                    )
                if device is None:
                    device = here
                elif here != device:
                    raise RuntimeError(
                        f"{self._name}.step: parameters on {device} and on {here}; one "
                        "optimizer steps parameters of one device, so make one per device"
                    )
                state = self.state.get(p)
                if state:
                    for name, value in state.items():
                        if backend.is_array(value) and backend.device_of(value) != here:
                            state[name] = backend.to_device(value, here)
        return backend.device_context(device or "cpu")

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group ``{"params": [...], **hyperparameters}``; missing options take the
        optimizer's defaults. A parameter may belong to only one group."""
        if not isinstance(param_group, dict):
            raise TypeError(
                f"{self._name}.add_param_group: expected a dict, got {type(param_group).__name__}"
            )
        group = dict(param_group)
        params = group.get("params")
        if params is None:
            raise ValueError(f"{self._name}.add_param_group: the group has no 'params' entry")
        params = [params] if isinstance(params, Tensor) else list(params)
        names = _split_names(self._name, params)
        if names is not None:  # PyTorch 2.x: Optimizer(model.named_parameters())
            params = [p for _, p in params]
            group["param_names"] = names
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{self._name}: can only optimize Tensors, but parameter {i} of the group "
                    f"is a {type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError(
                    f"{self._name}: can't optimize a non-leaf Tensor "
                    f"(parameter {i}, shape {tuple(p.shape)})"
                )
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(
                    f"{self._name}: parameter group didn't specify a value of required "
                    f"option {name!r}"
                )
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids) or seen.intersection(ids):
            raise ValueError(
                f"{self._name}: some parameters appear in more than one parameter group "
                "(or twice in one)"
            )
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Validate a group's hyperparameters (subclasses extend)."""
        lr = group.get("lr", 0.0)
        if not lr >= 0.0:
            raise ValueError(f"{self._name}: invalid learning rate: {lr}")
        wd = group.get("weight_decay", 0.0)
        if not wd >= 0.0:
            raise ValueError(f"{self._name}: invalid weight_decay value: {wd}")

    def _param_label(self, gi: int, i: int) -> str:
        """``parameter 1 of group 0 ('fc.bias')``: how errors name a parameter."""
        names = self.param_groups[gi].get("param_names")
        name = f" ({names[i]!r})" if names is not None and i < len(names) else ""
        return f"parameter {i} of group {gi}{name}"

    def _validate_step(self) -> None:
        """Check everything ``step()`` will use before it changes anything, so that a
        refused step leaves every parameter and all optimizer state as they were."""
        for gi, group in enumerate(self.param_groups):
            self._check_group(group)
            for i, p in enumerate(group["params"]):
                grad = p.grad
                if grad is None:
                    continue
                label = self._param_label(gi, i)
                if not isinstance(grad, Tensor):
                    raise TypeError(
                        f"{self._name}.step: the gradient of {label} is a "
                        f"{type(grad).__name__}, expected a Tensor"
                    )
                if tuple(grad.shape) != tuple(p.shape):
                    raise OpError(
                        f"{self._name}.step: the gradient of {label} has shape "
                        f"{tuple(grad.shape)}, but the parameter has shape {tuple(p.shape)}"
                    )
                if grad.dtype.kind != "f" or p.dtype.kind != "f":
                    raise TypeError(
                        f"{self._name}.step: {label} has dtype {p.dtype} and its gradient "
                        f"{grad.dtype}; both must be float dtypes"
                    )
                if grad.device != p.device:
                    raise RuntimeError(
                        f"{self._name}.step: the gradient of {label} is on {grad.device}, "
                        f"the parameter on {p.device}"
                    )
                for key, value in self.state.get(p, {}).items():
                    if backend.is_array(value) and tuple(value.shape) != tuple(p.shape):
                        raise OpError(
                            f"{self._name}.step: state {key!r} of {label} has shape "
                            f"{tuple(value.shape)}, but the parameter has shape {tuple(p.shape)}"
                        )

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's ``.grad``: to ``None`` (default) or to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.zero_()

    # ------------------------------------------------------------------ state dicts
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {name: array or int}}, "param_groups": [dict]}``.

        Parameters are numbered in group order, as in PyTorch; each group's
        ``"params"`` lists its indices. Arrays are copies on the parameters' device.
        """
        state: dict[int, dict[str, Any]] = {}
        groups = []
        index = 0
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                packed["params"].append(index)
                if p in self.state:
                    with backend.array_context(p.data):
                        state[index] = {
                            k: (v.copy() if backend.is_array(v) else v)
                            for k, v in self.state[p].items()
                        }
                index += 1
            groups.append(packed)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Load a dict from ``state_dict()``, or the flat dict ``mg.load`` returns.

        Raises ``KeyError`` naming a missing entry and ``ValueError`` when the groups,
        their sizes or a state array's shape do not match this optimizer.
        """
        from ..serialization import unflatten

        sd = dict(state_dict)
        if "state" not in sd and "param_groups" not in sd:
            sd = unflatten(sd)  # the flat dict of mg.load; an empty state leaves no keys
            sd.setdefault("state", {})
        for key in ("state", "param_groups"):
            if key not in sd:
                raise KeyError(f"{self._name}.load_state_dict: missing key {key!r}")
        saved_groups = _as_list(sd["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{self._name}.load_state_dict: loaded state dict has {len(saved_groups)} "
                f"parameter group(s), the optimizer has {len(self.param_groups)}"
            )
        index_to_param: dict[int, Tensor] = {}
        new_groups = []
        for gi, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if "params" not in saved:
                raise KeyError(
                    f"{self._name}.load_state_dict: missing key 'param_groups/{gi}/params'"
                )
            saved_ids = [int(i) for i in np.asarray(saved["params"]).reshape(-1).tolist()]
            if len(saved_ids) != len(group["params"]):
                raise ValueError(
                    f"{self._name}.load_state_dict: parameter group {gi} has "
                    f"{len(saved_ids)} parameter(s) in the loaded state dict, "
                    f"{len(group['params'])} in the optimizer"
                )
            index_to_param.update(zip(saved_ids, group["params"]))
            new_group = {k: _to_python(v) for k, v in saved.items() if k != "params"}
            for k in group:
                if k not in new_group:
                    new_group[k] = group[k]
            new_group["params"] = group["params"]
            self._check_group(new_group)
            new_groups.append(new_group)
        new_state: dict[Tensor, dict[str, Any]] = {}
        for raw_index, entry in _as_dict(sd["state"]).items():
            index = int(raw_index)
            if index not in index_to_param:
                raise KeyError(
                    f"{self._name}.load_state_dict: state for parameter {index}, "
                    "which no group lists"
                )
            p = index_to_param[index]
            new_state[p] = {
                name: self._load_state_value(index, name, value, p) for name, value in entry.items()
            }
        self.param_groups = new_groups
        self.state = new_state

    def _load_state_value(self, index: int, name: str, value: Any, p: Tensor) -> Any:
        if name == "step":
            return int(
                np.asarray(backend.to_device(value, "cpu")) if backend.is_array(value) else value
            )
        data = value.data if isinstance(value, Tensor) else value
        if not backend.is_array(data):
            data = np.asarray(data)
        if tuple(data.shape) != tuple(p.data.shape):
            raise ValueError(
                f"{self._name}.load_state_dict: state {name!r} of parameter {index} has shape "
                f"{tuple(data.shape)} in the loaded state dict, but the parameter has shape "
                f"{tuple(p.data.shape)}"
            )
        data = backend.to_device(data, backend.device_of(p.data))
        with backend.array_context(data):
            return data.astype(p.data.dtype, copy=True)

    def __repr__(self) -> str:
        lines = [f"{self._name} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params")
        lines.append(")")
        return "\n".join(lines)


def _split_names(opt: str, params: list[Any]) -> list[str] | None:
    """The names of ``(name, Tensor)`` pairs, or None for plain Tensors (no mixing)."""
    named = [isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) for p in params]
    if not any(named):
        return None
    if not all(named):
        raise TypeError(
            f"{opt}: a parameter group must hold only Tensors or only (name, Tensor) pairs"
        )
    return [name for name, _ in params]


def _on_params_device(step: Callable) -> Callable:
    """``step`` run on the device of the parameters it updates (see ``_device_context``)."""

    @functools.wraps(step)
    def step_on_device(self: Optimizer, *args: Any, **kwargs: Any) -> Any:
        with self._device_context():
            return step(self, *args, **kwargs)

    step_on_device._on_device = True  # type: ignore[attr-defined]
    return step_on_device


def _as_list(groups: Any) -> list[dict[str, Any]]:
    """Param groups as a list, also when they come back from ``unflatten`` as a dict."""
    if isinstance(groups, Mapping):
        return [groups[k] for k in sorted(groups, key=int)]
    return list(groups)


def _as_dict(state: Any) -> Mapping[Any, Any]:
    return state if isinstance(state, Mapping) else dict(enumerate(state))


def _to_python(value: Any) -> Any:
    """Hyperparameters loaded from ``.npz`` come back as arrays: make them numbers again."""
    if isinstance(value, np.ndarray | np.generic):
        return value.item() if value.ndim == 0 else tuple(value.tolist())
    return value
