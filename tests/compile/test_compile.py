"""``mg.compile``: the replayed plan gives the eager numbers (outputs and gradients, float64
to 1e-12, float32 to rounding), composes as one node of the eager graph, and falls back
to eager where it must (create_graph, detect_anomaly, what it cannot reproduce)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import DEVICES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad.autograd import gradcheck
from minigrad.compile import CompiledCall
from minigrad.nn.recurrent import GRUCell, LSTMCell, RNNCell


# The cells' steps with one positional signature ``(gi, state, w_hh_t, b_hn)``:
def rnn_tanh_step(gi: mg.Tensor, state: tuple, w_hh_t: mg.Tensor, b_hn: object = None) -> tuple:
    """Elman step with tanh."""
    return RNNCell.step(gi, state, w_hh_t, "tanh")


def rnn_relu_step(gi: mg.Tensor, state: tuple, w_hh_t: mg.Tensor, b_hn: object = None) -> tuple:
    """Elman step with ReLU."""
    return RNNCell.step(gi, state, w_hh_t, "relu")


def lstm_step(gi: mg.Tensor, state: tuple, w_hh_t: mg.Tensor, b_hn: object = None) -> tuple:
    """LSTM step."""
    return LSTMCell.step(gi, state, w_hh_t)


def gru_step(gi: mg.Tensor, state: tuple, w_hh_t: mg.Tensor, b_hn: object = None) -> tuple:
    """GRU step."""
    return GRUCell.step(gi, state, w_hh_t, b_hn)


STEPS = {"rnn_tanh": (rnn_tanh_step, 1), "rnn_relu": (rnn_relu_step, 1), "lstm": (lstm_step, 4),
         "gru": (gru_step, 3)}
TOL = {np.float64: dict(rtol=1e-12, atol=1e-12), np.float32: dict(rtol=2e-5, atol=2e-6)}


def _step_inputs(mode: str, b: int, h: int, dtype: type, device: str, seed: int) -> list:
    rng = np.random.default_rng(seed)
    g = STEPS[mode][1]
    shapes = [(b, g * h), (b, h), (b, h), (h, g * h), (h,)]
    return [mg.tensor(rng.standard_normal(s) * 0.5, dtype=dtype, device=device, requires_grad=True)
            for s in shapes]


def _unroll(step: object, mode: str, ts: list, steps: int) -> tuple[mg.Tensor, ...]:
    gi, h, c, w, b_hn = ts
    state = (h, c) if mode == "lstm" else (h,)
    outs = []
    for t in range(steps):
        with mg.name_scope(f"t{t}"):
            state = step(gi * (1.0 + 0.1 * t), state, w, b_hn if mode == "gru" else None)
        outs.append(state[0])
    return tuple(outs) + tuple(state)


def _values_and_grads(fn: object, mode: str, ts: list, steps: int) -> list[np.ndarray]:
    for t in ts:
        t.grad = None
    outs = _unroll(fn, mode, ts, steps)
    loss = sum(((o * o).sum() + o.sum() for o in outs), outs[0].sum() * 0)
    loss.backward()
    return [o.numpy() for o in outs] + [t.grad.numpy() if t.grad is not None else None for t in ts]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("mode", list(STEPS))
def test_compiled_step_matches_eager_over_an_unrolled_sequence(mode: str, dtype: type, device: str) -> None:
    step = STEPS[mode][0]
    compiled = mg.compile(step)
    for seed in range(3):  # the first call traces, the later ones replay
        ts = _step_inputs(mode, 3, 5, dtype, device, seed)
        eager = _values_and_grads(step, mode, ts, 4)
        fast = _values_and_grads(compiled, mode, ts, 4)
        for a, b in zip(eager, fast):
            if a is None:
                assert b is None
            else:
                np.testing.assert_allclose(b, a, **TOL[dtype])
    assert len(compiled.plans) == 1
    if mode == "rnn_relu":  # Relu's backward builds its mask from raw arrays: not replayable
        assert list(compiled.plans.values()) == [None]
        assert "made outside the ops" in next(iter(compiled.reasons.values()))
    else:
        assert None not in compiled.plans.values()


def test_compiled_call_is_one_node_in_the_eager_graph() -> None:
    ts = _step_inputs("lstm", 2, 3, np.float64, "cpu", 0)
    compiled = mg.compile(lstm_step)
    gi, h, c, w, _ = ts
    compiled(gi, (h, c), w, None)  # trace
    with mg.name_scope("t7"):
        h2, c2 = compiled(gi, (h, c), w, None)
    fn = h2.grad_fn
    assert isinstance(fn, CompiledCall) and c2.grad_fn is fn
    assert fn.name == "Compiled[lstm_step]" and fn.scope == "t7"
    assert [e[0] for e in fn.next] == [gi, h, c, w]
    assert fn.inner_ops[:3] == ["MatMul", "Add", "Split"] and fn.inner_ops.count("Sigmoid") == 3
    dot = mg.viz.to_dot(h2.sum() + c2.sum(), expand_compiled=False)
    assert "Compiled[lstm_step]" in dot
    assert "Compiled[" not in mg.viz.to_dot(h2.sum() + c2.sum())  # pictures draw its ops


def test_compiled_gradients_match_central_differences() -> None:
    ts = _step_inputs("gru", 2, 3, np.float64, "cpu", 1)
    compiled = mg.compile(gru_step)
    gi, h, _, w, b_hn = ts

    def f(gi: mg.Tensor, h: mg.Tensor, w: mg.Tensor, b_hn: mg.Tensor) -> mg.Tensor:
        return compiled(gi, (h,), w, b_hn)[0]

    f(gi, h, w, b_hn)
    assert gradcheck(f, [gi, h, w, b_hn], eps=1e-6, atol=1e-6, rtol=1e-4)


def test_create_graph_falls_back_to_eager_with_the_same_second_derivatives() -> None:
    ts = _step_inputs("lstm", 2, 3, np.float64, "cpu", 2)
    gi, h, c, w, _ = ts
    compiled = mg.compile(lstm_step)
    results = []
    for fn in (lstm_step, compiled, compiled):
        h2, c2 = fn(gi, (h, c), w, None)
        (gw,) = mg.autograd.grad((h2 * c2).sum(), [w], create_graph=True)
        (hvp,) = mg.autograd.grad((gw * gw).sum(), [h])
        results.append((gw.numpy(), hvp.numpy()))
    for got in results[1:]:
        np.testing.assert_allclose(got[0], results[0][0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got[1], results[0][1], rtol=1e-12, atol=1e-12)


def test_detect_anomaly_runs_eagerly_and_names_the_op() -> None:
    compiled = mg.compile(lambda x: (x.log() * 2,))
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    compiled(x)
    assert isinstance(compiled(x)[0].grad_fn, CompiledCall)
    with mg.autograd.detect_anomaly():
        assert not isinstance(compiled(x)[0].grad_fn, CompiledCall)
        with pytest.raises(RuntimeError, match="Log"), np.errstate(invalid="ignore"):
            compiled(mg.tensor([-1.0, 2.0], requires_grad=True))


def test_a_tensor_needing_grad_that_is_not_an_argument_runs_eagerly() -> None:
    w = mg.tensor([0.5, -1.5], requires_grad=True)
    compiled = mg.compile(lambda x: x * w + 1)
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(2):
        w.grad = None
        compiled(x).sum().backward()
        np.testing.assert_array_equal(w.grad.numpy(), [1.0, 2.0])
    assert list(compiled.plans.values()) == [None]
    assert "pass every tensor" in next(iter(compiled.reasons.values()))


def test_a_function_changing_an_argument_in_place_runs_eagerly() -> None:
    def f(x: mg.Tensor, y: mg.Tensor) -> mg.Tensor:
        y.mul_(2)
        return x * y

    compiled = mg.compile(f)
    for _ in range(2):
        x = mg.tensor([1.0, 2.0], requires_grad=True)
        y = mg.tensor([3.0, 4.0])
        out = compiled(x, y)
        np.testing.assert_array_equal(y.numpy(), [6.0, 8.0])
        np.testing.assert_array_equal(out.numpy(), [6.0, 16.0])
    assert "in place" in next(iter(compiled.reasons.values()))


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda:1", marks=DEVICES[1].marks)])
def test_without_grad_the_compiled_function_replays_its_forward(device: str) -> None:
    ts = _step_inputs("lstm", 2, 3, np.float64, device, 3)
    gi, h, c, w, _ = ts
    compiled = mg.compile(lstm_step)
    with mg.no_grad():
        compiled(gi, (h, c), w, None)
        out = compiled(gi, (h, c), w, None)
    ref = lstm_step(gi, (h, c), w, None)
    assert out[0].grad_fn is None
    for a, b in zip(out, ref):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)


def test_a_new_signature_traces_again() -> None:
    compiled = mg.compile(lambda a, b: (a * b).tanh())
    for shape in [(2, 3), (2, 3), (4,), (2, 3)]:
        a = mg.randn(*shape, requires_grad=True)
        out = compiled(a, mg.randn(*shape))
        np.testing.assert_allclose(out.numpy(), out.numpy())
    assert len(compiled.plans) == 2


UNARY = ["tanh", "sigmoid", "exp", "neg", "relu", "square"]
BINARY = ["add", "sub", "mul", "div"]


def _apply(op: str, a: mg.Tensor, b: mg.Tensor | None = None) -> mg.Tensor:
    if op == "neg":
        return -a
    if op == "square":
        return a * a
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op == "div":
        return a / (b * b + 1.0)
    if op == "exp":
        return (a * 0.1).exp()
    return getattr(a, op)()


chains = st.lists(st.tuples(st.sampled_from(UNARY + BINARY), st.integers(0, 10), st.integers(0, 10)),
                  min_size=1, max_size=8)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chain=chains, shape_b=st.sampled_from([(3, 4), (4,), (1, 4), ()]),
       dtype=st.sampled_from([np.float64, np.float32]))
def test_random_elementwise_chains_match_eager(chain: list, shape_b: tuple, dtype: type) -> None:
    def f(a: mg.Tensor, b: mg.Tensor) -> mg.Tensor:
        vals = [a, b]
        for op, i, j in chain:
            x, y = vals[i % len(vals)], vals[j % len(vals)]
            vals.append(_apply(op, x) if op in UNARY else _apply(op, x, y))
        return vals[-1] + vals[0]

    rng = np.random.default_rng(0)
    compiled = mg.compile(f)
    runs = []
    for fn in (f, compiled, compiled):
        a = mg.tensor(rng.standard_normal((3, 4)), dtype=dtype, requires_grad=True)
        b = mg.tensor(rng.standard_normal(shape_b), dtype=dtype, requires_grad=True)
        rng = np.random.default_rng(0)
        out = fn(a, b)
        out.backward(mg.ones_like(out))
        runs.append((out.numpy(), a.grad.numpy(), None if b.grad is None else b.grad.numpy()))
    compiled_ok = None not in compiled.plans.values()
    assert compiled_ok or any(op == "relu" for op, _, _ in chain)  # relu's mask: eager
    for got in runs[1:]:
        for x, y in zip(got, runs[0]):
            if y is None:
                assert x is None
            else:
                np.testing.assert_allclose(x, y, **TOL[dtype])


def _lstm_plan(device: str, monkeypatch: pytest.MonkeyPatch | None = None) -> tuple:
    ts = _step_inputs("lstm", 3, 4, np.float32, device, 5)
    gi, h, c, w, _ = ts
    compiled = mg.compile(lstm_step)
    compiled(gi, (h, c), w, None)
    out = compiled(gi, (h, c), w, None)
    (out[0].sum() + out[1].sum()).backward()
    return next(iter(compiled.plans.values())), out, [t.grad.numpy() for t in (gi, h, c, w)]


@pytest.mark.parametrize("device", DEVICES)
def test_elementwise_runs_are_fused_into_kernels(device: str) -> None:
    from minigrad.compile.fuse import Group

    plan, _, _ = _lstm_plan(device)
    forward = [s for s in plan.forward_run if isinstance(s, Group)]
    backward = [s for s in plan.backward_run if isinstance(s, Group)]
    assert backward and len(backward[0].ops) >= 15  # the gate gradients: one kernel
    if device == "cuda":  # transcendentals fuse too: the whole cell update is one kernel
        assert forward and "Sigmoid" in forward[0].ops and "Tanh" in forward[0].ops
    kinds = {d for g in forward + backward for d, k in (g.kernel or {}).items() if k is not None}
    if device == "cuda" or _has_numba():
        assert kinds == {device}


def _has_numba() -> bool:
    from minigrad.compile.fuse import numba_available

    return numba_available()


def test_without_numba_the_plan_replays_op_by_op_with_the_same_numbers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _, fused_out, fused_grads = _lstm_plan("cpu")
    from minigrad.compile import fuse  # (mg.compile is the function; the module is here)

    monkeypatch.setattr(fuse, "numba_available", lambda: False)
    plan, out, grads = _lstm_plan("cpu")
    assert all(k is None for g in plan.backward_run if hasattr(g, "ops") for k in g.kernel.values())
    for a, b in zip(list(fused_out) + fused_grads, list(out) + grads):
        np.testing.assert_allclose(np.asarray(b.numpy() if hasattr(b, "numpy") else b),
                                   np.asarray(a.numpy() if hasattr(a, "numpy") else a),
                                   **TOL[np.float32])


@pytest.mark.skipif(not _has_numba(), reason="numba not installed (pip install 'minigrad[jit]')")
def test_cpu_kernels_are_cached_on_disk(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from minigrad.compile import fuse

    monkeypatch.setenv("MINIGRAD_CACHE", str(tmp_path))
    for name in [m for m in sys.modules if m.startswith("minigrad_kernel_")]:
        monkeypatch.delitem(sys.modules, name)  # loaded from the default cache: load again
    _lstm_plan("cpu")
    kernels = list((tmp_path / "kernels").glob("minigrad_kernel_*.py"))
    assert kernels and fuse.kernel_dir() == tmp_path / "kernels"
    index = list((tmp_path / "kernels").rglob("*.nbi"))  # numba's cache index, per kernel
    assert index
