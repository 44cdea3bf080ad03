"""Recurrent cells (``RNNCell``, ``LSTMCell``, ``GRUCell``) and layers (``RNN``, ``LSTM``, ``GRU``).

Each cell class owns its equations: its gate count, its ``step`` (one time step, a plain
function of Tensors ``step(gi, state, w_hh_t, **weights) -> state``), how its biases fold
into the input projection and what of them stays inside the step. A layer is the loop:
it takes a cell type and runs that cell's step over time for every layer and direction,
with the parameters named as PyTorch names them.

Parameter names, shapes, gate order and initialisation are PyTorch's, so a PyTorch
``state_dict`` converted to numpy loads with ``load_state_dict`` and reproduces its
outputs. Everything is composed from Tensor ops; backprop through time is the engine's.

Speed: the input projection of a whole sequence is one matmul before the time loop
(with both biases folded in once), each step does one matmul ``h @ W_hh^T`` for all
gates and splits it, ``W_hh`` is transposed once per call, and the outputs are
stacked once. Shapes: ``B`` batch, ``H`` hidden size, ``G`` gates.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from .. import backend, ops
from ..autograd import name_scope
from ..autograd.context import current_scope, scope_path
from ..compile import Compiled
from ..compile import compile as compile_fn
from ..compile.scan import Scan
from ..creation import zeros
from ..ops import chunk, split, where
from ..tensor import Tensor
from . import functional as F
from . import init
from ._checks import check_int, check_like_weights, check_probability, check_states
from ._recurrent_checks import (
    check_cell_input,
    check_cell_state,
    check_pair,
    check_projected_state,
    check_sequence_input,
    check_sequence_state,
    lengths_to_array,
)
from .module import Module, new_parameter

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNCell"]

State = tuple[Tensor, ...]
# One length per batch row: a list of ints, an int numpy array or an int Tensor.
Lengths = Sequence[int] | np.ndarray | Tensor | None
# A parameter by its cell name ("weight_hh"), None where the module has none.
Params = Callable[[str], Tensor | None]


def _reset_uniform(module: Module, hidden_size: int) -> None:
    """PyTorch's init: every parameter from ``U(-1/sqrt(H), 1/sqrt(H))``, drawn in
    ``parameters()`` order from minigrad's seeded generator."""
    bound = 1.0 / math.sqrt(hidden_size)
    for param in module.parameters():
        init.uniform_(param, -bound, bound)


class _CellBase(Module):
    """What the three cells share: parameters, checks, unbatched input, the input projection.

    A cell class sets ``gates`` (blocks of H rows in ``weight_ih``/``weight_hh``),
    ``state_names`` and ``scope`` and writes the static method
    ``step(gi, state, w_hh_t, **step_args) -> new state``: gi ``(B, G*H)`` (the input
    projection, biases folded), state ``(B, H)`` tensors, ``w_hh_t = W_hh^T (H, G*H)``.
    ``options`` (constructor keywords such as ``nonlinearity``), ``parameter_shapes``,
    ``fold_bias`` and ``step_args`` say what else it has. The layers use the same class
    methods, so a cell and a layer run the same equations.
    """

    gates: ClassVar[int]
    state_names: ClassVar[tuple[str, ...]] = ("h",)
    scope: ClassVar[str]
    projects: ClassVar[bool] = False  # can a layer of this cell take proj_size?

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None, **options: Any) -> None:
        name = type(self).__name__
        options = self.options(name, **options)
        input_size = check_int(name, "input_size", input_size, 1)
        hidden_size = check_int(name, "hidden_size", hidden_size, 1)
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        for key, value in options.items():
            setattr(self, key, value)
        if not bias:
            self.bias_ih = self.bias_hh = None
        for kind, shape in self.parameter_shapes(input_size, hidden_size, bias, **options).items():
            setattr(self, kind, new_parameter(shape, device, dtype))
        self.reset_parameters()

    @classmethod
    def options(cls, name: str, **options: Any) -> dict[str, Any]:
        """Check the cell's own constructor keywords; return them with their defaults."""
        if options:
            raise TypeError(f"{name}: unexpected keyword argument {next(iter(options))!r}")
        return {}

    @classmethod
    def parameter_shapes(cls, input_size: int, hidden_size: int, bias: bool, proj_size: int = 0,
                         **options: Any) -> dict[str, tuple[int, ...]]:
        """Parameter names and shapes in PyTorch's order: ``weight_ih (G*H, I)``,
        ``weight_hh (G*H, H)`` (``(G*H, proj_size)`` with a projection), biases ``(G*H,)``."""
        rows = cls.gates * hidden_size
        shapes = {"weight_ih": (rows, input_size), "weight_hh": (rows, proj_size or hidden_size)}
        if bias:
            shapes.update(bias_ih=(rows,), bias_hh=(rows,))
        return shapes

    @classmethod
    def fold_bias(cls, b_ih: Tensor | None, b_hh: Tensor | None) -> Tensor | None:
        """The bias added once to the input projection ``(G*H,)``: ``b_ih + b_hh``."""
        return None if b_ih is None or b_hh is None else b_ih + b_hh

    @classmethod
    def project(cls, x: Tensor, w_ih: Tensor, b_ih: Tensor | None, b_hh: Tensor | None) -> Tensor:
        """The input projection ``x W_ih^T`` plus the folded bias: x ``(N, I)`` -> ``(N, G*H)``."""
        return ops.linear(x, w_ih, cls.fold_bias(b_ih, b_hh))

    @classmethod
    def step_args(cls, module: Module, param: Params) -> dict[str, Any]:
        """The keyword arguments of ``step`` besides ``gi, state, w_hh_t``, made once per
        call from ``module``'s options and its parameters ``param(name)``."""
        return {}

    def reset_parameters(self) -> None:
        """Redraw every parameter from ``U(-1/sqrt(H), 1/sqrt(H))`` (PyTorch's init)."""
        _reset_uniform(self, self.hidden_size)

    def _run(self, x: Tensor, hx: State | None) -> State:
        name = type(self).__name__
        batched = check_cell_input(name, x, self.input_size)
        check_like_weights(name, "input", x, self.weight_ih)
        if not batched:
            x = x.unsqueeze(0)
        if hx is None:
            start = zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)
            state: State = (start,) * len(self.state_names)
        else:
            check_states(name, self.state_names, hx, self.weight_ih)
            check_cell_state(name, hx, x.shape[0] if batched else None, self.hidden_size)
            state = tuple(s if batched else s.unsqueeze(0) for s in hx)
        with name_scope(self.scope):
            gi = self.project(x, self.weight_ih, self.bias_ih, self.bias_hh)
            args = self.step_args(self, lambda kind: getattr(self, kind, None))
            new = self.step(gi, state, self.weight_hh.T, **args)
        return new if batched else tuple(s.squeeze(0) for s in new)

    def forward(self, x: Tensor, hx: Tensor | None = None) -> Tensor:
        """Return the next hidden state ``(B, H)`` (``(H,)`` for unbatched input)."""
        return self._run(x, None if hx is None else (hx,))[0]

    def extra_repr(self) -> str:
        """``input_size, hidden_size`` (and ``bias=False``, ``peephole=True`` when so)."""
        text = f"{self.input_size}, {self.hidden_size}"
        text = text if self.bias else text + ", bias=False"
        return text + ", peephole=True" if getattr(self, "peephole", False) else text


class RNNCell(_CellBase):
    """Elman cell ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``, act tanh or relu.

    Call ``cell(x, hx=None)``: x ``(B, I)`` or ``(I,)``, hx ``(B, H)`` or ``(H,)`` (zeros
    when None); returns h' of h's shape. Parameters ``weight_ih (H, I)``,
    ``weight_hh (H, H)``, ``bias_ih (H,)``, ``bias_hh (H,)``, all ``U(-1/sqrt(H), 1/sqrt(H))``.
    """

    gates = 1
    scope = "rnn_cell"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, device, dtype, nonlinearity=nonlinearity)

    @classmethod
    def options(cls, name: str, nonlinearity: str = "tanh") -> dict[str, Any]:
        """``nonlinearity``: "tanh" or "relu"."""
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"{name}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        return {"nonlinearity": nonlinearity}

    @classmethod
    def step_args(cls, module: Module, param: Params) -> dict[str, Any]:
        """The module's ``nonlinearity``."""
        return {"nonlinearity": module.nonlinearity}

    @staticmethod
    def step(gi: Tensor, state: State, w_hh_t: Tensor, nonlinearity: str = "tanh") -> State:
        """``h' = act(gi + h W_hh^T)``; gi ``(B, H)``, state ``(h,)``, ``w_hh_t (H, H)``."""
        z = gi + state[0] @ w_hh_t
        return (z.tanh() if nonlinearity == "tanh" else z.relu(),)


class LSTMCell(_CellBase):
    """LSTM cell, PyTorch's gate order i, f, g, o in ``weight_ih (4H, I)``, ``weight_hh (4H, H)``.

    Call ``cell(x, (h, c)=None)``: x ``(B, I)`` or ``(I,)``; h, c ``(B, H)`` or ``(H,)``.
    Returns ``(h', c')`` with ``c' = f*c + i*g`` and ``h' = o*tanh(c')``.

    ``peephole=True`` (not in PyTorch) adds the classic peephole connections with
    diagonal weights ``weight_ci``, ``weight_cf``, ``weight_co`` ``(H,)`` (Gers and
    Schmidhuber): c feeds i and f, c' feeds o; initialised like the other weights.
    """

    gates = 4
    state_names = ("h", "c")
    scope = "lstm_cell"
    projects = True
    PEEPHOLES = ("weight_ci", "weight_cf", "weight_co")

    @classmethod
    def options(cls, name: str, peephole: bool = False) -> dict[str, Any]:
        """``peephole``: add the diagonal peephole weights."""
        return {"peephole": bool(peephole)}

    @classmethod
    def parameter_shapes(cls, input_size: int, hidden_size: int, bias: bool, proj_size: int = 0,
                         peephole: bool = False, **options: Any) -> dict[str, tuple[int, ...]]:
        """The four gates' weights and biases, then ``weight_ci, weight_cf, weight_co (H,)``
        with peepholes, then ``weight_hr (proj_size, H)`` with a projection."""
        shapes = super().parameter_shapes(input_size, hidden_size, bias, proj_size)
        if peephole:
            shapes.update({kind: (hidden_size,) for kind in cls.PEEPHOLES})
        if proj_size:
            shapes["weight_hr"] = (proj_size, hidden_size)
        return shapes

    @classmethod
    def step_args(cls, module: Module, param: Params) -> dict[str, Any]:
        """``W_hr^T`` (transposed once per call) and the peephole weights, where present."""
        w_hr = param("weight_hr")
        return {"w_hr_t": None if w_hr is None else w_hr.T} | {k: param(k) for k in cls.PEEPHOLES}

    @staticmethod
    def step(gi: Tensor, state: State, w_hh_t: Tensor, w_hr_t: Tensor | None = None,
             weight_ci: Tensor | None = None, weight_cf: Tensor | None = None,
             weight_co: Tensor | None = None) -> State:
        """gi ``(B, 4H)``, state ``(h, c)``, ``w_hh_t (H, 4H)``; with a projection h and
        ``w_hr_t`` are ``(B, P)`` and ``(H, P)``, ``w_hh_t`` is ``(P, 4H)``; peepholes ``(H,)``."""
        h, c = state
        i, f, g, o = chunk(gi + h @ w_hh_t, 4, axis=-1)
        if weight_ci is not None:  # peepholes: the old cell state feeds i and f ...
            i, f = i + weight_ci * c, f + weight_cf * c
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        if weight_co is not None:  # ... and the new one feeds o
            o = o + weight_co * c
        h = o.sigmoid() * c.tanh()
        if w_hr_t is not None:
            h = h @ w_hr_t
        return h, c

    def forward(self, x: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        """Return ``(h', c')``, each ``(B, H)`` (``(H,)`` for unbatched input)."""
        check_pair("LSTMCell", hx, "(h, c)")
        h, c = self._run(x, hx)
        return h, c


class GRUCell(_CellBase):
    """GRU cell, PyTorch's gate order r, z, n in ``weight_ih (3H, I)``, ``weight_hh (3H, H)``.

    ``r = sigma(W_ir x + b_ir + W_hr h + b_hr)``, ``z`` likewise,
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) * n + z * h``.
    Call ``cell(x, hx=None)``: x ``(B, I)`` or ``(I,)``, hx ``(B, H)``; returns h' ``(B, H)`` or ``(H,)``.
    """

    gates = 3
    scope = "gru_cell"

    @classmethod
    def fold_bias(cls, b_ih: Tensor | None, b_hh: Tensor | None) -> Tensor | None:
        """``b_ih + b_hh`` without ``b_hn``, which the reset gate multiplies in every step."""
        if b_ih is None or b_hh is None:
            return None
        hidden = b_hh.shape[0] // 3
        with backend.array_context(b_hh.data):  # made where b_hh lives: no host upload
            keep = backend.xp_of(b_hh.data).ones(3 * hidden, dtype=b_hh.dtype)
            keep[2 * hidden:] = 0
        return b_ih + b_hh * Tensor._from_array(keep)

    @classmethod
    def step_args(cls, module: Module, param: Params) -> dict[str, Any]:
        """``b_hn``, the candidate's part of ``bias_hh``."""
        b_hh = param("bias_hh")
        return {"b_hn": None if b_hh is None else b_hh[2 * (b_hh.shape[0] // 3):]}

    @staticmethod
    def step(gi: Tensor, state: State, w_hh_t: Tensor, b_hn: Tensor | None = None) -> State:
        """gi ``(B, 3H)`` (without ``b_hn``), state ``(h,)``, ``w_hh_t (H, 3H)``, b_hn ``(H,)``;
        ``h' = (1 - z) * n + z * h`` computed as ``n + z * (h - n)``."""
        h = state[0]
        hidden = gi.shape[-1] // 3
        gi_rz, gi_n = split(gi, [2 * hidden, hidden], axis=-1)
        gh_rz, gh_n = split(h @ w_hh_t, [2 * hidden, hidden], axis=-1)
        r, z = chunk((gi_rz + gh_rz).sigmoid(), 2, axis=-1)
        if b_hn is not None:
            gh_n = gh_n + b_hn
        n = (gi_n + r * gh_n).tanh()
        return (n + z * (h - n),)


def _over_time(step: Callable[..., State], gi_steps: Sequence[Tensor], state: State,
               w_hh_t: Tensor, masks: Sequence[Tensor] | None, reverse: bool
               ) -> tuple[list[Tensor], State]:
    """Run ``step`` over T steps; return the hidden states (in time order) and the last state.

    ``masks``: None or T bool tensors ``(B, 1)``, True where step t is inside the row. A
    masked-out step keeps the previous state, which is what packed sequences do: the
    forward direction freezes after a row's last step, and the reverse direction, run
    from ``T - 1`` down, keeps its initial state until it reaches the row's last step.
    Each step runs in ``name_scope(f"t{t}")`` with the real time index ``t``.
    """
    steps = len(gi_steps)
    outputs: list[Tensor] = [state[0]] * steps
    for t in range(steps - 1, -1, -1) if reverse else range(steps):
        with name_scope(f"t{t}"):
            new = step(gi_steps[t], state, w_hh_t)
            if masks is not None:
                new = tuple(where(masks[t], n, s) for n, s in zip(new, state))
            state = new
            outputs[t] = state[0]
    return outputs, state


_COMPILED: dict[tuple[type, tuple[str, ...]], Compiled] = {}


def _compiled_step(cell: type[_CellBase], step_args: dict[str, Any]) -> Callable[..., State]:
    """``cell.step`` with ``step_args`` bound, compiled with ``mg.compile`` (one compiled
    function per cell class and set of arguments, shared by every layer: plans are cached
    per input signature). The extras are passed positionally, as ``compile`` wants."""
    names = tuple(step_args)
    compiled = _COMPILED.get((cell, names))
    if compiled is None:
        def positional(gi: Tensor, state: State, w_hh_t: Tensor, *extras: Any) -> State:
            return cell.step(gi, state, w_hh_t, **dict(zip(names, extras)))

        positional.__name__ = positional.__qualname__ = f"{cell.__name__}.step"
        compiled = _COMPILED[(cell, names)] = compile_fn(positional)
    extras = tuple(step_args.values())
    return lambda gi, state, w_hh_t: compiled(gi, state, w_hh_t, *extras)


_SCANS: dict[tuple, Scan] = {}


def _scanned(cell: type[_CellBase], step_args: dict[str, Any], gi: Tensor, state: State,
             w_hh_t: Tensor, masks: list[Tensor] | None, keep: np.ndarray | None, reverse: bool,
             steps: int, outer: str) -> tuple[Tensor, ...] | None:
    """The loop over time as one compiled ``Scan`` node: ``(outputs (T, B, H), *final
    state)``, or None where it cannot be compiled (the caller loops step by step).
    gi ``(T*B, G*H)``; ``keep`` ``(T, B)`` bool or None; ``outer``: the scope the eager
    layer stacks its outputs in."""
    tensors = {k: v for k, v in step_args.items() if isinstance(v, Tensor)}
    static = {k: v for k, v in step_args.items() if not isinstance(v, Tensor)}
    names = tuple(tensors)
    key = (cell, names, tuple(sorted(static.items(), key=lambda kv: kv[0])))
    scan = _SCANS.get(key)
    if scan is None:
        def step(xs_t: State, carry: State, w_t: Tensor, *extras: Tensor) -> State:
            return cell.step(xs_t[0], carry, w_t, **dict(zip(names, extras)), **static)

        step.__name__ = step.__qualname__ = f"{cell.__name__}.step"
        scan = _SCANS[key] = Scan(step)
    batch = gi.shape[0] // steps
    bound = functools.partial(cell.step, **static)
    n_state = len(state)

    def eager(gi: Tensor, *rest: Tensor) -> tuple[Tensor, ...]:
        # exactly the eager layer's ops (pictures expand a Scan node into these)
        extras = dict(zip(names, rest[n_state + 1:]))
        outputs, final = _over_time(functools.partial(bound, **extras), ops.split(gi, batch, axis=0),
                                    tuple(rest[:n_state]), rest[n_state], masks, reverse)
        with scope_path(outer):
            return (ops.stack(outputs, axis=0), *final)

    eager.__name__ = scan.step.__name__
    return scan((gi,), state, (w_hh_t, *tensors.values()), steps, reverse, keep, eager)


class _RNNBase(Module):
    """Multi-layer, optionally bidirectional recurrent layer of ``cell``s over whole sequences.

    Input x: ``(T, B, I)`` (``(B, T, I)`` with ``batch_first``) or unbatched ``(T, I)``.
    Output: ``(T, B, D*H)`` (``(B, T, D*H)`` with batch_first; ``(T, D*H)`` unbatched),
    D = 2 if bidirectional else 1, the last layer's hidden states, both directions
    concatenated on the last axis. States ``h_n``/``c_n``: ``(num_layers*D, B, H)``
    (``(num_layers*D, H)`` unbatched) ordered l0 forward, l0 reverse, l1 forward, ...;
    never batch-first. ``lengths`` (B ints in ``[1, T]``) gives PyTorch's packed-sequence
    results on a padded batch: outputs past a row's length are zero, the forward state is
    the one at the row's last step and the reverse direction starts there. The arguments
    are PyTorch's, in its order; ``options`` are the cell's keywords.
    """

    cell: ClassVar[type[_CellBase]]
    scope: ClassVar[str]

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
        batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
        proj_size: int = 0, device: Any = None, dtype: Any = None, **options: Any,
    ) -> None:
        name = type(self).__name__
        options = self.cell.options(name, **options)
        input_size = check_int(name, "input_size", input_size, 1)
        hidden_size = check_int(name, "hidden_size", hidden_size, 1)
        num_layers = check_int(name, "num_layers", num_layers, 1)
        dropout = check_probability(name, "dropout", dropout)
        proj_size = check_int(name, "proj_size", proj_size, 0)
        if proj_size and not self.cell.projects:
            raise ValueError(f"{name}: proj_size is only supported by LSTM, got {proj_size}")
        if proj_size and proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size ({proj_size}) must be smaller than hidden_size "
                             f"({hidden_size})")
        super().__init__()
        for key, value in options.items():
            setattr(self, key, value)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        self.compiled = False  # set by compile(): run the cell's step through mg.compile
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else (proj_size or hidden_size) * self.num_directions
            for suffix in ("", "_reverse")[:self.num_directions]:
                shapes = self.cell.parameter_shapes(layer_input, hidden_size, bias, proj_size, **options)
                for kind, shape in shapes.items():
                    setattr(self, f"{kind}_l{layer}{suffix}", new_parameter(shape, device, dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Redraw every parameter from ``U(-1/sqrt(H), 1/sqrt(H))`` (PyTorch's init)."""
        _reset_uniform(self, self.hidden_size)

    def flatten_parameters(self) -> None:
        """Does nothing: PyTorch needs it to pack weights for cuDNN; minigrad's weights
        are used as they are. Kept so that ported PyTorch code runs unchanged."""

    @property
    def num_directions(self) -> int:
        """2 if bidirectional else 1."""
        return 2 if self.bidirectional else 1

    def extra_repr(self) -> str:
        """Constructor arguments that differ from the defaults."""
        parts = [f"{self.input_size}, {self.hidden_size}"]
        for text, on in ((f"num_layers={self.num_layers}", self.num_layers != 1),
                         ("bias=False", not self.bias), ("batch_first=True", self.batch_first),
                         (f"dropout={self.dropout}", self.dropout),
                         ("bidirectional=True", self.bidirectional),
                         (f"proj_size={self.proj_size}", self.proj_size),
                         ("peephole=True", getattr(self, "peephole", False))):
            if on:
                parts.append(text)
        return ", ".join(parts)

    def compile(self, mode: bool = True) -> _RNNBase:
        """Compile the loop over time: on the CPU with numba (``minigrad[jit]``) each layer
        and direction runs as one ``Scan`` node whose forward and backward loops are
        generated from the cell's traced step; elsewhere (GPU, no numba, a step the
        generator cannot write, such as relu's) each step runs through ``mg.compile``
        (one node per step). ``compile(False)`` goes back to eager ops. Outputs and
        gradients are the eager ones (float64 to 1e-12). The BPTT picture is unchanged:
        ``mg.viz`` draws compiled nodes as their eager ops (``expand_compiled=False``:
        the ``Scan[...]``/``Compiled[...]`` nodes). Returns self."""
        self.compiled = bool(mode)
        return self

    def _direction(
        self, layer: int, reverse: bool, x: Tensor, state: State, masks: list[Tensor] | None,
        keep: np.ndarray | None = None,
    ) -> tuple[Tensor, State]:
        """One direction of one layer: x ``(T, B, F)`` -> outputs ``(T, B, H)``, final state.
        ``masks``: per step ``(B, 1)`` bool Tensors, ``keep`` the same ``(T, B)`` as an array."""
        suffix = f"_l{layer}_reverse" if reverse else f"_l{layer}"

        def param(kind: str) -> Tensor | None:
            return getattr(self, kind + suffix, None)

        steps, batch, features = x.shape
        outer = current_scope()
        with name_scope("bwd" if reverse else "fwd"):
            gi = self.cell.project(x.reshape(steps * batch, features), param("weight_ih"),
                                   param("bias_ih"), param("bias_hh"))
            step_args = self.cell.step_args(self, param)
            w_hh_t = param("weight_hh").T
            if self.compiled:
                looped = _scanned(self.cell, step_args, gi, state, w_hh_t, masks, keep, reverse, steps,
                                  outer)
                if looped is not None:
                    return looped[0], tuple(looped[1:])
                step = _compiled_step(self.cell, step_args)
            else:
                step = functools.partial(self.cell.step, **step_args)
            # one split op: its backward concatenates the T step gradients once
            gi_steps = ops.split(gi, batch, axis=0)
            outputs, state = _over_time(step, gi_steps, state, w_hh_t, masks, reverse)
        return ops.stack(outputs, axis=0), state

    def _forward(self, x: Tensor, hx: State | None, lengths: Lengths) -> tuple[Tensor, State]:
        name = type(self).__name__
        batched = check_sequence_input(name, x, self.input_size)
        check_like_weights(name, "input", x, self.weight_ih_l0)
        if not batched:
            if lengths is not None:
                raise ValueError(f"{name}: lengths needs a batched input (3-D), got shape {x.shape}")
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.swapaxes(0, 1)
        steps, batch = x.shape[0], x.shape[1]
        n_state = len(self.cell.state_names)
        layers_dirs = self.num_layers * self.num_directions
        if hx is None:
            start = zeros(batch, self.hidden_size, dtype=x.dtype, device=x.device)
            h0 = zeros(batch, self.proj_size, dtype=x.dtype, device=x.device) if self.proj_size else start
            initial = [(h0, start)[:n_state]] * layers_dirs
        else:
            if self.proj_size:
                check_projected_state(name, hx, layers_dirs, batch if batched else None,
                                      self.proj_size, self.hidden_size)
            else:
                check_states(name, tuple(f"{s}_0" for s in self.cell.state_names), hx, self.weight_ih_l0)
                check_sequence_state(name, hx, layers_dirs, batch if batched else None, self.hidden_size)
            full = [s if batched else s.unsqueeze(1) for s in hx]
            initial = [tuple(s[k] for s in full) for k in range(layers_dirs)]
        masks, out_mask, keep = None, None, None
        if lengths is not None:
            valid = lengths_to_array(name, lengths, batch, steps)
            keep = np.arange(steps)[:, None] < valid[None, :]  # (T, B)
            out_mask = Tensor(keep[:, :, None], device=x.device)  # one upload, sliced per step
            masks = [out_mask[t] for t in range(steps)]
            # Packed sequences never read padding: select, don't multiply, so NaN or Inf
            # past a row's length reaches neither the outputs nor any gradient.
            x = ops.where(out_mask, x, 0.0)
        finals: list[State] = []
        layer_input = x
        with name_scope(self.scope):
            for layer in range(self.num_layers):
                with name_scope(f"l{layer}"):
                    if layer > 0 and self.dropout > 0.0 and self.training:
                        layer_input = F.dropout(layer_input, self.dropout, training=True)
                    outs = []
                    for d in range(self.num_directions):
                        out, final = self._direction(layer, d == 1, layer_input,
                                                     initial[layer * self.num_directions + d], masks,
                                                     keep)
                        outs.append(out)
                        finals.append(final)
                    layer_input = outs[0] if len(outs) == 1 else ops.cat(outs, axis=-1)
            output = layer_input if out_mask is None else ops.where(out_mask, layer_input, 0.0)
            states = tuple(ops.stack([f[j] for f in finals], axis=0) for j in range(n_state))
        if not batched:
            return output.squeeze(1), tuple(s.squeeze(1) for s in states)
        if self.batch_first:
            output = output.swapaxes(0, 1)
        return output, states

    def forward(self, x: Tensor, hx: Tensor | None = None, lengths: Lengths = None) -> tuple[Tensor, Tensor]:
        """Return ``(output, h_n)``; shapes in the class docstring."""
        output, states = self._forward(x, None if hx is None else (hx,), lengths)
        return output, states[0]


class RNN(_RNNBase):
    """Elman RNN layer of ``RNNCell``; ``nonlinearity`` "tanh" or "relu" (PyTorch's fourth
    argument). See ``_RNNBase`` for the arguments and shapes.

    Call ``rnn(x, hx=None, lengths=None)`` -> ``(output, h_n)``; hx ``(num_layers*D, B, H)``.
    """

    cell = RNNCell
    scope = "rnn"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", *args: Any, **kwargs: Any) -> None:
        super().__init__(input_size, hidden_size, num_layers, *args, nonlinearity=nonlinearity, **kwargs)


class LSTM(_RNNBase):
    """LSTM layer of ``LSTMCell`` (gate order i, f, g, o). See ``_RNNBase`` for shapes.

    Call ``lstm(x, hx=None, lengths=None)`` with ``hx = (h_0, c_0)`` -> ``(output, (h_n, c_n))``.

    ``proj_size > 0`` (PyTorch's LSTMP): each layer's hidden state is projected,
    ``h = (o * tanh(c)) W_hr^T`` with ``weight_hr_l{k} (proj_size, H)``; h, the output and
    ``weight_hh`` use ``proj_size`` where they used H (``h_n (L*D, B, proj_size)``,
    output ``(T, B, D*proj_size)``), c keeps H. ``peephole=True`` (not in PyTorch) adds
    the diagonal peephole weights ``weight_ci_l{k}``, ``weight_cf_l{k}``,
    ``weight_co_l{k}`` ``(H,)`` of ``LSTMCell(peephole=True)`` to every layer and direction.
    """

    cell = LSTMCell
    scope = "lstm"

    def forward(  # type: ignore[override]
        self, x: Tensor, hx: tuple[Tensor, Tensor] | None = None, lengths: Lengths = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Return ``(output, (h_n, c_n))``; shapes in the class docstring."""
        check_pair("LSTM", hx, "(h_0, c_0)")
        output, (h_n, c_n) = self._forward(x, hx, lengths)
        return output, (h_n, c_n)


class GRU(_RNNBase):
    """GRU layer of ``GRUCell`` (gate order r, z, n; reset applied to ``W_hn h + b_hn``).
    See ``_RNNBase`` for the arguments and shapes.

    Call ``gru(x, hx=None, lengths=None)`` -> ``(output, h_n)``.
    """

    cell = GRUCell
    scope = "gru"
