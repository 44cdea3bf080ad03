"""Recurrent cells (``RNNCell``, ``LSTMCell``, ``GRUCell``) and layers (``RNN``, ``LSTM``, ``GRU``).

Parameter names, shapes, gate order and initialisation are PyTorch's, so a PyTorch
``state_dict`` converted to numpy loads with ``load_state_dict`` and reproduces its
outputs. Everything is composed from Tensor ops; backprop through time is the engine's.

Speed: the input projection of a whole sequence is one matmul before the time loop
(with both biases folded in once), each step does one matmul ``h @ W_hh^T`` for all
gates and splits it, ``W_hh`` is transposed once per call, and the outputs are
stacked once.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import backend, ops
from ..autograd import name_scope
from ..creation import zeros
from ..tensor import Tensor
from . import functional as F
from . import init
from ._checks import check_int, check_like_weights, check_probability, check_states
from ._recurrent_checks import (
    check_cell_input,
    check_cell_state,
    check_sequence_input,
    check_sequence_state,
    lengths_to_array,
)
from ._recurrent_steps import NUM_GATES, STEPS, State, lstm_ext_step, run_direction
from .module import Module, Parameter

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNCell"]

# One length per batch row: a list of ints, an int numpy array or an int Tensor.
Lengths = Sequence[int] | np.ndarray | Tensor | None


def _empty(shape: tuple[int, ...], device: Any, dtype: Any) -> Parameter:
    """An uninitialised parameter (``reset_parameters`` fills it)."""
    dev = backend.normalize_device(device)
    dt = backend.get_default_dtype() if dtype is None else dtype
    with backend.device_context(dev):  # CuPy allocates on the current device
        return Parameter(backend.get_xp(dev).empty(shape, dtype=dt))


def _reset_uniform(module: Module, hidden_size: int) -> None:
    """PyTorch's init: every parameter from ``U(-1/sqrt(H), 1/sqrt(H))``, drawn in
    ``parameters()`` order from minigrad's seeded generator."""
    bound = 1.0 / math.sqrt(hidden_size)
    for param in module.parameters():
        init.uniform_(param, -bound, bound)


def _folded_bias(mode: str, b_ih: Tensor | None, b_hh: Tensor | None) -> Tensor | None:
    """``b_ih + b_hh`` added once to the input projection; for GRU ``b_hn`` stays out.

    PyTorch's GRU candidate is ``tanh(W_in x + b_in + r * (W_hn h + b_hn))``, so ``b_hn``
    must be multiplied by the reset gate each step; only ``b_hr``/``b_hz`` can be folded.
    """
    if b_ih is None or b_hh is None:
        return None
    if mode != "gru":
        return b_ih + b_hh
    hidden = b_hh.shape[0] // 3
    with backend.array_context(b_hh.data):  # made where b_hh lives: no host upload
        keep = backend.xp_of(b_hh.data).ones(3 * hidden, dtype=b_hh.dtype)
        keep[2 * hidden:] = 0
    return b_ih + b_hh * Tensor._from_array(keep)


def _check_pair(name: str, hx: object, expected: str) -> None:
    """An LSTM state must be a pair of Tensors, not one Tensor."""
    if hx is not None and not (isinstance(hx, tuple | list) and len(hx) == 2):
        got = f"a Tensor of shape {hx.shape}" if isinstance(hx, Tensor) else type(hx).__name__
        raise TypeError(f"{name}: expected hx as a pair {expected} of Tensors, got {got}")


def _hidden_bias(mode: str, b_hh: Tensor | None) -> Tensor | None:
    """``b_hn``, the part of the GRU hidden bias applied inside the reset gate."""
    if mode != "gru" or b_hh is None:
        return None
    hidden = b_hh.shape[0] // 3
    return b_hh[2 * hidden :]


def _time_steps(gi: Tensor, batch: int) -> tuple[Tensor, ...]:
    """Split the time-major ``(T*B, K)`` projection into T tensors ``(B, K)``.

    One ``split`` op: its backward concatenates the T step gradients once, where T
    separate ``gi[t]`` slices would each scatter into a full ``(T*B, K)`` zero array.
    """
    return ops.split(gi, batch, axis=0)


class _CellBase(Module):
    """Shared code of the three cells: parameters, checks, unbatched input."""

    mode: str
    scope: str

    def __init__(
        self, mode: str, input_size: int, hidden_size: int, bias: bool, device: Any, dtype: Any,
        peephole: bool = False,
    ) -> None:
        name = type(self).__name__
        input_size = check_int(name, "input_size", input_size, 1)
        hidden_size = check_int(name, "hidden_size", hidden_size, 1)
        super().__init__()
        self.mode = mode
        self.peephole = bool(peephole)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        gates = NUM_GATES[self.mode] * hidden_size
        self.weight_ih = _empty((gates, input_size), device, dtype)
        self.weight_hh = _empty((gates, hidden_size), device, dtype)
        if bias:
            self.bias_ih = _empty((gates,), device, dtype)
            self.bias_hh = _empty((gates,), device, dtype)
        else:
            self.bias_ih = None
            self.bias_hh = None
        if self.peephole:
            for name in _PEEPHOLES:
                setattr(self, name, _empty((hidden_size,), device, dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Redraw every parameter from ``U(-1/sqrt(H), 1/sqrt(H))`` (PyTorch's init)."""
        _reset_uniform(self, self.hidden_size)

    def _run(self, x: Tensor, hx: State | None) -> State:
        name = type(self).__name__
        batched = check_cell_input(name, x, self.input_size)
        check_like_weights(name, "input", x, self.weight_ih)
        if not batched:
            x = x.unsqueeze(0)
        n_state = 2 if self.mode == "lstm" else 1
        if hx is not None:
            check_states(name, ("h", "c")[:n_state], hx, self.weight_ih)
        if hx is None:
            start = zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)
            state: State = (start,) * n_state
        else:
            check_cell_state(name, hx, x.shape[0] if batched else None, self.hidden_size)
            state = tuple(s if batched else s.unsqueeze(0) for s in hx)
        with name_scope(self.scope):
            gi = x @ self.weight_ih.T
            bias = _folded_bias(self.mode, self.bias_ih, self.bias_hh)
            if bias is not None:
                gi = gi + bias
            b_hn = _hidden_bias(self.mode, self.bias_hh)
            if self.peephole:
                peep = tuple(getattr(self, n) for n in _PEEPHOLES)
                new = lstm_ext_step(gi, state, self.weight_hh.T, b_hn, peep=peep)
            else:
                new = STEPS[self.mode](gi, state, self.weight_hh.T, b_hn)
        return new if batched else tuple(s.squeeze(0) for s in new)

    def extra_repr(self) -> str:
        """``input_size, hidden_size`` (and ``bias=False`` when so)."""
        text = f"{self.input_size}, {self.hidden_size}"
        text = text if self.bias else text + ", bias=False"
        return text + ", peephole=True" if self.peephole else text


class RNNCell(_CellBase):
    """Elman cell ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``, act tanh or relu.

    Call ``cell(x, hx=None)``: x ``(B, I)`` or ``(I,)``, hx ``(B, H)`` or ``(H,)`` (zeros
    when None); returns h' of h's shape. Parameters ``weight_ih (H, I)``,
    ``weight_hh (H, H)``, ``bias_ih (H,)``, ``bias_hh (H,)``, all ``U(-1/sqrt(H), 1/sqrt(H))``.
    """

    scope = "rnn_cell"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(f"rnn_{nonlinearity}", input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, x: Tensor, hx: Tensor | None = None) -> Tensor:
        """Return the next hidden state ``(B, H)`` (``(H,)`` for unbatched input)."""
        return self._run(x, None if hx is None else (hx,))[0]


class LSTMCell(_CellBase):
    """LSTM cell, PyTorch's gate order i, f, g, o in ``weight_ih (4H, I)``, ``weight_hh (4H, H)``.

    Call ``cell(x, (h, c)=None)``: x ``(B, I)`` or ``(I,)``; h, c ``(B, H)`` or ``(H,)``.
    Returns ``(h', c')`` with ``c' = f*c + i*g`` and ``h' = o*tanh(c')``.

    ``peephole=True`` (not in PyTorch) adds the classic peephole connections with
    diagonal weights ``weight_ci``, ``weight_cf``, ``weight_co`` ``(H,)`` (Gers and
    Schmidhuber): c feeds i and f, c' feeds o; initialised like the other weights.
    """

    scope = "lstm_cell"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
        peephole: bool = False,
    ) -> None:
        super().__init__("lstm", input_size, hidden_size, bias, device, dtype, peephole)

    def forward(self, x: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        """Return ``(h', c')``, each ``(B, H)`` (``(H,)`` for unbatched input)."""
        _check_pair("LSTMCell", hx, "(h, c)")
        h, c = self._run(x, hx)
        return h, c


class GRUCell(_CellBase):
    """GRU cell, PyTorch's gate order r, z, n in ``weight_ih (3H, I)``, ``weight_hh (3H, H)``.

    ``r = sigma(W_ir x + b_ir + W_hr h + b_hr)``, ``z`` likewise,
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) * n + z * h``.
    Call ``cell(x, hx=None)``: x ``(B, I)`` or ``(I,)``, hx ``(B, H)``; returns h' ``(B, H)`` or ``(H,)``.
    """

    scope = "gru_cell"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__("gru", input_size, hidden_size, bias, device, dtype)

    def forward(self, x: Tensor, hx: Tensor | None = None) -> Tensor:
        """Return the next hidden state ``(B, H)`` (``(H,)`` for unbatched input)."""
        return self._run(x, None if hx is None else (hx,))[0]


class _RNNBase(Module):
    """Multi-layer, optionally bidirectional recurrent layer over whole sequences.

    Input x: ``(T, B, I)`` (``(B, T, I)`` with ``batch_first``) or unbatched ``(T, I)``.
    Output: ``(T, B, D*H)`` (``(B, T, D*H)`` with batch_first; ``(T, D*H)`` unbatched),
    D = 2 if bidirectional else 1, the last layer's hidden states, both directions
    concatenated on the last axis. States ``h_n``/``c_n``: ``(num_layers*D, B, H)``
    (``(num_layers*D, H)`` unbatched) ordered l0 forward, l0 reverse, l1 forward, ...;
    never batch-first. ``lengths`` (B ints in ``[1, T]``) gives PyTorch's packed-sequence
    results on a padded batch: outputs past a row's length are zero, the forward state is
    the one at the row's last step and the reverse direction starts there.
    """

    mode: str
    scope: str

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        bias: bool,
        batch_first: bool,
        dropout: float,
        bidirectional: bool,
        device: Any,
        dtype: Any,
        proj_size: int = 0,
        peephole: bool = False,
    ) -> None:
        name = type(self).__name__
        input_size = check_int(name, "input_size", input_size, 1)
        hidden_size = check_int(name, "hidden_size", hidden_size, 1)
        num_layers = check_int(name, "num_layers", num_layers, 1)
        dropout = check_probability(name, "dropout", dropout)
        super().__init__()
        self.mode = mode
        proj_size = check_int(name, "proj_size", proj_size, 0)
        if proj_size and proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size ({proj_size}) must be smaller than hidden_size "
                             f"({hidden_size})")
        self.proj_size = proj_size
        self.peephole = bool(peephole)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        gates = NUM_GATES[self.mode] * hidden_size
        directions = 2 if bidirectional else 1
        state_size = proj_size or hidden_size
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else state_size * directions
            for suffix in ("", "_reverse")[:directions]:
                shapes = {"weight_ih": (gates, layer_input), "weight_hh": (gates, state_size)}
                if bias:
                    shapes.update(bias_ih=(gates,), bias_hh=(gates,))
                if peephole:
                    shapes.update({n: (hidden_size,) for n in _PEEPHOLES})
                if proj_size:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                for kind, shape in shapes.items():
                    setattr(self, f"{kind}_l{layer}{suffix}", _empty(shape, device, dtype))
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
        if self.num_layers != 1:
            parts.append(f"num_layers={self.num_layers}")
        if not self.bias:
            parts.append("bias=False")
        if self.batch_first:
            parts.append("batch_first=True")
        if self.dropout:
            parts.append(f"dropout={self.dropout}")
        if self.bidirectional:
            parts.append("bidirectional=True")
        if self.proj_size:
            parts.append(f"proj_size={self.proj_size}")
        if self.peephole:
            parts.append("peephole=True")
        return ", ".join(parts)

    def _direction(
        self, layer: int, reverse: bool, x: Tensor, state: State, masks: list[Tensor] | None
    ) -> tuple[Tensor, State]:
        """One direction of one layer: x ``(T, B, F)`` -> outputs ``(T, B, H)``, final state."""
        suffix = "_reverse" if reverse else ""
        w_ih = getattr(self, f"weight_ih_l{layer}{suffix}")
        w_hh = getattr(self, f"weight_hh_l{layer}{suffix}")
        b_ih = getattr(self, f"bias_ih_l{layer}{suffix}", None)
        b_hh = getattr(self, f"bias_hh_l{layer}{suffix}", None)
        steps, batch, features = x.shape
        with name_scope("bwd" if reverse else "fwd"):
            gi = x.reshape(steps * batch, features) @ w_ih.T
            bias = _folded_bias(self.mode, b_ih, b_hh)
            if bias is not None:
                gi = gi + bias
            gi_steps = _time_steps(gi, batch)
            b_hn = _hidden_bias(self.mode, b_hh)
            step = None
            if self.proj_size or self.peephole:
                w_hr = getattr(self, f"weight_hr_l{layer}{suffix}") if self.proj_size else None
                peep = (tuple(getattr(self, f"{n}_l{layer}{suffix}") for n in _PEEPHOLES)
                        if self.peephole else None)
                step = functools.partial(lstm_ext_step, w_hr_t=None if w_hr is None else w_hr.T,
                                         peep=peep)
            outputs, state = run_direction(self.mode, gi_steps, state, w_hh.T, b_hn, masks, reverse,
                                           step)
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
        n_state = 2 if self.mode == "lstm" else 1
        layers_dirs = self.num_layers * self.num_directions
        if hx is None:
            start = zeros(batch, self.hidden_size, dtype=x.dtype, device=x.device)
            initial = [(start,) * n_state for _ in range(layers_dirs)]
            if self.proj_size:
                h0 = zeros(batch, self.proj_size, dtype=x.dtype, device=x.device)
                initial = [(h0, start) for _ in range(layers_dirs)]
        elif self.proj_size:
            _check_projected_state(name, hx, layers_dirs, batch if batched else None,
                                   self.proj_size, self.hidden_size)
            full = [s if batched else s.unsqueeze(1) for s in hx]
            initial = [tuple(s[k] for s in full) for k in range(layers_dirs)]
        else:
            check_states(name, ("h_0", "c_0")[:n_state], hx, self.weight_ih_l0)
            check_sequence_state(name, hx, layers_dirs, batch if batched else None, self.hidden_size)
            full = [s if batched else s.unsqueeze(1) for s in hx]
            initial = [tuple(s[k] for s in full) for k in range(layers_dirs)]
        masks, out_mask = None, None
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
                        k = layer * self.num_directions + d
                        out, final = self._direction(layer, d == 1, layer_input, initial[k], masks)
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


class RNN(_RNNBase):
    """Elman RNN layer; ``nonlinearity`` "tanh" or "relu". See ``_RNNBase`` for shapes.

    Call ``rnn(x, hx=None, lengths=None)`` -> ``(output, h_n)``; hx ``(num_layers*D, B, H)``.
    """

    scope = "rnn"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(
            f"rnn_{nonlinearity}",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device,
            dtype,
        )
        self.nonlinearity = nonlinearity

    def forward(self, x: Tensor, hx: Tensor | None = None, lengths: Lengths = None) -> tuple[Tensor, Tensor]:
        """Return ``(output, h_n)``; shapes in the class docstring."""
        output, states = self._forward(x, None if hx is None else (hx,), lengths)
        return output, states[0]


class LSTM(_RNNBase):
    """LSTM layer (gate order i, f, g, o). See ``_RNNBase`` for shapes.

    Call ``lstm(x, hx=None, lengths=None)`` with ``hx = (h_0, c_0)`` -> ``(output, (h_n, c_n))``.

    ``proj_size > 0`` (PyTorch's LSTMP): each layer's hidden state is projected,
    ``h = (o * tanh(c)) W_hr^T`` with ``weight_hr_l{k} (proj_size, H)``; h, the output and
    ``weight_hh`` use ``proj_size`` where they used H (``h_n (L*D, B, proj_size)``,
    output ``(T, B, D*proj_size)``), c keeps H. ``peephole=True`` (not in PyTorch) adds
    the diagonal peephole weights ``weight_ci_l{k}``, ``weight_cf_l{k}``,
    ``weight_co_l{k}`` ``(H,)`` of ``LSTMCell(peephole=True)`` to every layer and direction.
    """

    scope = "lstm"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
        peephole: bool = False,
    ) -> None:
        super().__init__(
            "lstm",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device,
            dtype,
            proj_size=proj_size,
            peephole=peephole,
        )

    def forward(
        self, x: Tensor, hx: tuple[Tensor, Tensor] | None = None, lengths: Lengths = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Return ``(output, (h_n, c_n))``; shapes in the class docstring."""
        _check_pair("LSTM", hx, "(h_0, c_0)")
        output, (h_n, c_n) = self._forward(x, hx, lengths)
        return output, (h_n, c_n)


class GRU(_RNNBase):
    """GRU layer (gate order r, z, n; reset applied to ``W_hn h + b_hn``). See ``_RNNBase``.

    Call ``gru(x, hx=None, lengths=None)`` -> ``(output, h_n)``.
    """

    scope = "gru"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            "gru",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device,
            dtype,
        )

    def forward(self, x: Tensor, hx: Tensor | None = None, lengths: Lengths = None) -> tuple[Tensor, Tensor]:
        """Return ``(output, h_n)``; shapes in the class docstring."""
        output, states = self._forward(x, None if hx is None else (hx,), lengths)
        return output, states[0]


_PEEPHOLES = ("weight_ci", "weight_cf", "weight_co")


def _check_projected_state(name: str, hx: Sequence[Tensor], layers_dirs: int, batch: int | None,
                           proj_size: int, hidden_size: int) -> None:
    """With ``proj_size``, h_0 is ``(L*D, B, proj_size)`` and c_0 ``(L*D, B, H)``."""
    lead = (layers_dirs,) if batch is None else (layers_dirs, batch)
    for label, s, size in (("h_0", hx[0], proj_size), ("c_0", hx[1], hidden_size)):
        if not isinstance(s, Tensor) or tuple(s.shape) != lead + (size,):
            got = tuple(s.shape) if isinstance(s, Tensor) else type(s).__name__
            raise ValueError(f"{name}: expected {label} of shape {lead + (size,)} "
                             f"(with proj_size={proj_size}, hidden_size={hidden_size}), got {got}")
