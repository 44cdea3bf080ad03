"""One time step of each recurrent cell, and the loop that runs a direction over time.

Everything here is composed from Tensor ops: the engine does backprop through time.
Shapes: ``B`` batch, ``H`` hidden size, ``G`` gates (1 RNN, 4 LSTM, 3 GRU).

``gi`` is the input projection of one step with the biases already folded in
(``x_t W_ih^T + b_ih + b_hh``; for GRU only the r and z parts of ``b_hh``, because
PyTorch's candidate gate applies the reset gate to ``W_hn h + b_hn``).
``w_hh_t`` is ``W_hh^T`` of shape ``(H, G*H)``, transposed once per call, not per step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..autograd import name_scope
from ..ops import chunk, split, where
from ..tensor import Tensor

State = tuple[Tensor, ...]


def rnn_tanh_step(gi: Tensor, state: State, w_hh_t: Tensor, b_hn: Tensor | None) -> State:
    """Elman cell: ``h' = tanh(gi + h W_hh^T)``; gi ``(B, H)``, h ``(B, H)``."""
    return ((gi + state[0] @ w_hh_t).tanh(),)


def rnn_relu_step(gi: Tensor, state: State, w_hh_t: Tensor, b_hn: Tensor | None) -> State:
    """Elman cell with ReLU: ``h' = relu(gi + h W_hh^T)``."""
    return ((gi + state[0] @ w_hh_t).relu(),)


def lstm_step(gi: Tensor, state: State, w_hh_t: Tensor, b_hn: Tensor | None) -> State:
    """LSTM cell; gi ``(B, 4H)`` in PyTorch's gate order i, f, g, o; state ``(h, c)``.

    i = sigma(.), f = sigma(.), g = tanh(.), o = sigma(.) of ``gi + h W_hh^T``;
    ``c' = f * c + i * g``; ``h' = o * tanh(c')``.
    """
    h, c = state
    i, f, g, o = chunk(gi + h @ w_hh_t, 4, axis=-1)
    c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c_new.tanh(), c_new


def gru_step(gi: Tensor, state: State, w_hh_t: Tensor, b_hn: Tensor | None) -> State:
    """GRU cell; gi ``(B, 3H)`` in PyTorch's order r, z, n; state ``(h,)``.

    ``r, z = sigma(gi_rz + h W_hrz^T)``; ``n = tanh(gi_n + r * (h W_hn^T + b_hn))``;
    ``h' = (1 - z) * n + z * h``, computed as ``n + z * (h - n)``.
    """
    h = state[0]
    hidden = gi.shape[-1] // 3
    gi_rz, gi_n = split(gi, [2 * hidden, hidden], axis=-1)
    gh_rz, gh_n = split(h @ w_hh_t, [2 * hidden, hidden], axis=-1)
    r, z = chunk((gi_rz + gh_rz).sigmoid(), 2, axis=-1)
    if b_hn is not None:
        gh_n = gh_n + b_hn
    n = (gi_n + r * gh_n).tanh()
    return (n + z * (h - n),)


STEPS: dict[str, Callable[[Tensor, State, Tensor, Tensor | None], State]] = {
    "rnn_tanh": rnn_tanh_step,
    "rnn_relu": rnn_relu_step,
    "lstm": lstm_step,
    "gru": gru_step,
}
NUM_GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


def run_direction(
    mode: str,
    gi_steps: Sequence[Tensor],
    state: State,
    w_hh_t: Tensor,
    b_hn: Tensor | None,
    masks: Sequence[Tensor] | None,
    reverse: bool,
    step: Callable[[Tensor, State, Tensor, Tensor | None], State] | None = None,
) -> tuple[list[Tensor], State]:
    """Run one direction of one layer over all time steps.

    ``gi_steps``: T tensors ``(B, G*H)``; ``state``: ``(h,)`` or ``(h, c)``, each ``(B, H)``;
    ``masks``: None or T bool tensors ``(B, 1)``, True where step t is inside the row.
    A masked-out step keeps the previous state, which is what packed sequences do: the
    forward direction freezes after a row's last step, and the reverse direction, run
    from ``T - 1`` down, keeps its initial state until it reaches the row's last step.
    Returns the per-step hidden states (in time order, not masked) and the final state.
    Each step runs in ``name_scope(f"t{t}")`` with the real time index ``t``. ``step``
    replaces the mode's cell (the LSTM with projection or peepholes).
    """
    step = step or STEPS[mode]
    steps = len(gi_steps)
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    outputs: list[Tensor] = [state[0]] * steps
    for t in order:
        with name_scope(f"t{t}"):
            new = step(gi_steps[t], state, w_hh_t, b_hn)
            if masks is not None:
                new = tuple(where(masks[t], n, s) for n, s in zip(new, state))
            state = new
            outputs[t] = state[0]
    return outputs, state


def lstm_ext_step(gi: Tensor, state: State, w_hh_t: Tensor, b_hn: Tensor | None,
                  w_hr_t: Tensor | None = None,
                  peep: tuple[Tensor, Tensor, Tensor] | None = None) -> State:
    """LSTM cell with a projection and/or peephole connections; state ``(h, c)``.

    Peepholes (Gers and Schmidhuber, diagonal weights ``w_ci, w_cf, w_co`` of shape
    ``(H,)``): ``i = sigma(. + w_ci * c)``, ``f = sigma(. + w_cf * c)``,
    ``o = sigma(. + w_co * c')`` (the output gate sees the new cell state).
    Projection (PyTorch's ``proj_size``): ``h' = (o * tanh(c')) W_hr^T``, so h is
    ``(B, P)`` and ``w_hh_t`` is ``(P, 4H)``; c stays ``(B, H)``.
    """
    h, c = state
    i, f, g, o = chunk(gi + h @ w_hh_t, 4, axis=-1)
    if peep is not None:
        w_ci, w_cf, w_co = peep
        i, f = i + w_ci * c, f + w_cf * c
    c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
    if peep is not None:
        o = o + w_co * c_new
    h_new = o.sigmoid() * c_new.tanh()
    if w_hr_t is not None:
        h_new = h_new @ w_hr_t
    return h_new, c_new
