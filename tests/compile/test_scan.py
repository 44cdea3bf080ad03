"""The generated loop over time (``Scan``): what it falls back on, and its float32 math.

The layer-level equivalence over every configuration is in
test_compiled_recurrent_layers.py; this file covers what that does not."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad.compile.fuse import numba_available
from minigrad.compile.scan import ScanCall
from minigrad.nn import recurrent

needs_numba = pytest.mark.skipif(not numba_available(), reason="numba (minigrad[jit]) is not installed")


def _pair(cls: str, inputs: int = 3, hidden: int = 5, dtype=np.float64, **options):
    mg.manual_seed(0)
    eager = getattr(mg.nn, cls)(inputs, hidden, dtype=dtype, **options)
    fast = getattr(mg.nn, cls)(inputs, hidden, dtype=dtype, **options)
    fast.load_state_dict(eager.state_dict())
    return eager, fast.compile()


def _grads(layer, x: np.ndarray, lengths=None, create_graph: bool = False) -> list[np.ndarray]:
    xt = mg.tensor(x, dtype=np.float64, requires_grad=True)
    out, state = layer(xt, lengths=lengths)
    h = state[0] if isinstance(state, tuple) else state
    loss = (out * out).sum() + (h * h).sum()
    if create_graph:  # the gradient's own gradient: the eager loop differentiated twice
        (gx,) = mg.autograd.grad(loss, [xt], create_graph=True)
        (gx * gx).sum().backward()
        return [gx.numpy(), xt.grad.numpy()] + [p.grad.numpy() for p in layer.parameters()]
    loss.backward()
    return [out.numpy(), xt.grad.numpy()] + [p.grad.numpy() for p in layer.parameters()]


@needs_numba
@pytest.mark.parametrize("cls,options", [
    ("LSTM", {"peephole": True}), ("LSTM", {"proj_size": 2}), ("GRU", {"bias": False}),
    ("LSTM", {"num_layers": 2, "bidirectional": True, "proj_size": 2}),
])
def test_more_configurations_run_as_one_scan_with_the_eager_numbers(cls, options) -> None:
    eager, fast = _pair(cls, **options)
    x = np.random.default_rng(1).standard_normal((6, 4, 3))
    for lengths in (None, [6, 2, 1, 4]):
        for a, b in zip(_grads(eager, x, lengths), _grads(fast, x, lengths), strict=True):
            np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
    out, _ = fast(mg.tensor(x, dtype=np.float64))  # no gradient asked for
    np.testing.assert_allclose(out.numpy(), eager(mg.tensor(x, dtype=np.float64))[0].numpy(), rtol=1e-12)


@needs_numba
def test_a_layer_output_comes_from_one_scan_node() -> None:
    _, fast = _pair("GRU")
    out, h = fast(mg.tensor(np.ones((5, 2, 3)), dtype=np.float64, requires_grad=True))
    assert isinstance(h.grad_fn.next[0][0], ScanCall) or isinstance(out.grad_fn, ScanCall)


@needs_numba
def test_create_graph_differentiates_the_eager_loop() -> None:
    eager, fast = _pair("LSTM")
    x = np.random.default_rng(2).standard_normal((4, 3, 3))
    for a, b in zip(_grads(eager, x, create_graph=True), _grads(fast, x, create_graph=True), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-11, atol=1e-12)


def test_anomaly_mode_and_relu_run_eagerly_with_the_same_numbers() -> None:
    x = np.random.default_rng(3).standard_normal((4, 2, 3))
    eager, fast = _pair("RNN", nonlinearity="relu")  # relu's backward cannot be traced
    for a, b in zip(_grads(eager, x), _grads(fast, x), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-12)
    eager, fast = _pair("GRU")
    with mg.autograd.detect_anomaly():
        out, _ = fast(mg.tensor(x, dtype=np.float64, requires_grad=True))
    assert not isinstance(out.grad_fn, ScanCall)
    reasons = [r for s in recurrent._SCANS.values() for r in s.reasons.values()]
    assert not numba_available() or any("array" in r or "constant" in r for r in reasons), reasons


@needs_numba
@pytest.mark.parametrize("name", ["exp32", "tanh32", "sigmoid32"])
def test_float32_math_is_within_two_ulp_of_the_true_value(name) -> None:
    import numba

    from minigrad.compile import fastmath

    scalar = getattr(fastmath, name)

    @numba.njit(error_model="numpy")
    def apply(x, out):
        for i in range(x.shape[0]):
            out[i] = scalar(x[i])

    x = np.concatenate([np.linspace(-90, 90, 400_001), np.logspace(-30, 1.5, 20_000),
                        -np.logspace(-30, 1.5, 20_000), [0.0, -0.0]]).astype(np.float32)
    got = np.empty_like(x)
    apply(x, got)
    x64 = x.astype(np.float64)
    with np.errstate(over="ignore"):
        true = {"exp32": np.exp(x64), "tanh32": np.tanh(x64), "sigmoid32": 1 / (1 + np.exp(-x64))}[name]
    ok = (np.abs(true) > 1.2e-38) | (true == 0)
    if name == "exp32":  # the clamped range (see its docstring)
        ok &= (x >= -87.33) & (x <= 88.37)
    ref = true[ok].astype(np.float32)
    ulp = np.abs(got[ok].astype(np.float64) - ref) / np.spacing(np.abs(ref)).astype(np.float64)
    assert ulp.max() <= 2, (name, float(ulp.max()), x[ok][ulp.argmax()])


def _scan_kernels(fast) -> list:
    return [k for s in recurrent._SCANS.values() for k in s.kernels.values()
            if k not in (None, "fixed")]


@needs_numba
def test_one_kernel_serves_every_batch_size_with_the_eager_numbers() -> None:
    eager, fast = _pair("LSTM", bidirectional=True)
    before = {id(k) for k in _scan_kernels(fast)}
    made = set()
    rng = np.random.default_rng(2)
    for batch in (4, 1, 7, 4):
        x = rng.standard_normal((6, batch, 3))
        lengths = None if batch == 1 else [6] + [1 + b % 6 for b in range(batch - 1)]
        for a, b in zip(_grads(eager, x, lengths), _grads(fast, x, lengths), strict=True):
            np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
        made |= {id(k) for k in _scan_kernels(fast)} - before
    # forward and reverse direction, with and without a mask: four at most, whatever the batch
    assert 1 <= len(made) <= 4
    rows = [k for k in _scan_kernels(fast) if id(k) in made]
    assert all(k.layout.rows and "NB = " in k.source for k in rows)


@needs_numba
def test_the_generated_backward_writes_gradients_in_place_and_sums_weights_once() -> None:
    _, fast = _pair("LSTM")
    x = mg.tensor(np.ones((5, 2, 3)), dtype=np.float64)
    out, _ = fast(x)
    out.sum().backward()
    node = out.grad_fn
    assert isinstance(node, ScanCall)
    bwd = node.kernels.source.split("def bwd")[1]
    # dgates straight into GX[t]; W_hh's gradient one GEMM over all T*B rows after the loop
    assert "GX0[t, i0, i1" in bwd and "GW0[i0, i1] +=" not in bwd
    after_loop = [line for line in bwd.splitlines() if line.startswith("    _gemm(")]
    assert len(after_loop) == 1 and "T * NB" in after_loop[0]
    # the recurrent product reads W_hh untransposed (NN), from a contiguous transpose the
    # caller passes in (W_hh itself: the layer's constant is the view W_hh^T)
    assert "W0T.ctypes.data" in bwd and "W0T" in bwd.split(")")[0]
    # no copy loops: the carries trade arrays with the buffers their new values were made
    # in, Y[t] is stored by the gate loop, the backward reads the carries' gradients in place
    fwd = node.kernels.source.split("def fwd")[1].split("def bwd")[0]
    assert "s0, b" in fwd and "s1, b" in fwd and "Y[t, i0, i1] = v" in fwd
    assert "sd0" not in bwd and "sd1" not in bwd


# -- custom steps through Scan itself (found by an adversarial review) ----------------------
def _run_scan(step, xs, init, consts, steps: int, batch: int) -> list[np.ndarray]:
    """Eager loop and Scan on the same float64 values: [ys, final carries..., input grads...]."""
    from minigrad.compile.scan import Scan

    def eager_loop(x, *rest):
        carry, cs = tuple(rest[:len(init)]), rest[len(init):]
        outs = []
        for t in range(steps):
            carry = step((x[t * batch:(t + 1) * batch],), carry, *cs)
            outs.append(carry[0])
        return (mg.stack(outs, axis=0), *carry)

    scan = _SCANS_UNDER_TEST.setdefault(step, Scan(step))
    results = []
    for compiled in (False, True):
        args = [mg.tensor(a, dtype=np.float64, requires_grad=True) for a in (xs, *init, *consts)]
        x, rest = args[0], args[1:]
        if compiled:
            out = scan((x,), tuple(rest[:len(init)]), tuple(rest[len(init):]), steps, False, None,
                       eager_loop)
            assert out is not None, scan.reasons
            assert isinstance(out[0].grad_fn, ScanCall)
        else:
            out = eager_loop(x, *rest)
        sum((o * o).sum() for o in out).backward()
        results.append([o.numpy() for o in out] + [a.grad.numpy() for a in args])
    return [np.abs(a - b).max() for a, b in zip(*results, strict=True)]


_SCANS_UNDER_TEST: dict = {}


def _tanh_step(xs, carry, w):
    (x_t,), (h,) = xs, carry
    return ((x_t.tanh() + h @ (w * w)).tanh(),)  # (B, H) and (H, H) ops side by side


@needs_numba
def test_a_batch_sized_like_the_hidden_size_does_not_fuse_their_loops() -> None:
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 4))
    for batch in (4, 2, 3):  # traced with B == H: the (B, H) and (H, H) loops must stay apart
        errors = _run_scan(_tanh_step, rng.standard_normal((3 * batch, 4)),
                           [rng.standard_normal((batch, 4))], [w], 3, batch)
        assert max(errors) < 1e-12, (batch, errors)


def _split_carry_step(xs, carry):
    (x_t,), (h, c) = xs, carry
    a, b = mg.ops.split(x_t + h, [1, 1], axis=-1)  # the new c is a view of a cheap add of h
    return h * c + b.tanh(), a


@needs_numba
def test_a_carry_that_is_a_view_of_a_cheap_op_is_computed_before_the_carries_change() -> None:
    rng = np.random.default_rng(1)
    errors = _run_scan(_split_carry_step, rng.standard_normal((6, 2)),
                       [rng.standard_normal((2, 2)), rng.standard_normal((2, 1))], [], 3, 2)
    assert max(errors) < 1e-12, errors


def _memory_step(xs, carry, memory):
    (x_t,), (h,) = xs, carry
    return ((x_t + h * memory).tanh(),)  # a constant with the batch's rows


@needs_numba
def test_a_constant_with_a_batch_axis_gets_a_kernel_for_its_exact_shapes() -> None:
    rng = np.random.default_rng(2)
    errors = _run_scan(_memory_step, rng.standard_normal((12, 5)), [rng.standard_normal((4, 5))],
                       [rng.standard_normal((4, 5))], 3, 4)
    assert max(errors) < 1e-12, errors
    kernels = [k for k in _SCANS_UNDER_TEST[_memory_step].kernels.values() if k not in (None, "fixed")]
    assert kernels and not any(k.layout.rows for k in kernels)


def _crossed_step(xs, carry):
    (x_t,), (a, b) = xs, carry
    return b + x_t, a * 2.0  # d/db is the gradient of the new a itself, passed through


@needs_numba
def test_carries_that_trade_places_keep_their_values_and_gradients() -> None:
    # the forward trades each carry's array with the buffer its new value was made in;
    # the backward must not read a carry's gradient after another carry's update wrote it
    rng = np.random.default_rng(3)
    errors = _run_scan(_crossed_step, rng.standard_normal((12, 3)),
                       [rng.standard_normal((4, 3)), rng.standard_normal((4, 3))], [], 3, 4)
    assert max(errors) < 1e-12, errors
    (kernels,) = [k for k in _SCANS_UNDER_TEST[_crossed_step].kernels.values()
                  if k not in (None, "fixed")]
    fwd, bwd = kernels.source.split("def bwd")
    assert "s0, b" in fwd and "s1, b" in fwd  # no copy loops for the carries
    assert "sd1 = " in bwd  # the gradient passed through is read from its own copy


@needs_numba
def test_pieces_of_a_step_product_stay_under_openblas_small_matrix_limit() -> None:
    from minigrad.compile.pieces import pieces

    cut = pieces.py_func
    limit = 100 ** 3
    assert cut(32, 512, 128, limit) == (8, 512)  # LSTM (B 32, H 128): h @ W_hh
    assert cut(32, 128, 512, limit) == (8, 128)  # and dgates @ W_hh^T
    assert cut(64, 1024, 256, limit) == (8, 256)
    assert cut(16, 256, 64, limit) == (16, 256)  # small enough whole
    assert cut(32, 512, 128, 0) == (32, 512)  # a BLAS without small kernels: whole
    assert cut(128, 512, 2048, limit) == (128, 512)  # pieces would be too thin: whole
    assert cut(0, 512, 128, limit) == (1, 512)  # an empty batch: no piece, no zero step
    for m in (1, 7, 33, 64, 128, 300):
        for n in (16, 100, 384, 512, 1536, 4096):
            for k in (32, 128, 512, 2048):
                rows, cols = cut(m, n, k, limit)
                if (rows, cols) != (m, n):
                    assert rows * cols * k <= limit and rows % 8 == 0 and (cols == n or cols % 16 == 0)
                    assert rows * cols >= 512


@needs_numba
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
def test_a_layer_whose_step_product_is_cut_into_pieces_keeps_the_eager_numbers(dtype, tol) -> None:
    from minigrad.compile.blas import small_gemm_limit
    from minigrad.compile.pieces import pieces

    eager, fast = _pair("LSTM", 64, 128, dtype)
    x = np.random.default_rng(4).standard_normal((3, 37, 64)).astype(dtype)  # 37 = 4 * 8 + 5
    results = []
    for layer in (eager, fast):
        xt = mg.tensor(x, dtype=dtype, requires_grad=True)
        out, (h, c) = layer(xt)
        ((out * out).sum() + (c * c).sum()).backward()
        results.append([out.numpy(), xt.grad.numpy()] + [p.grad.numpy() for p in layer.parameters()])
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(b, a, rtol=tol, atol=tol)
    node = out.grad_fn
    assert isinstance(node, ScanCall) and "_mm(NB, 512, 128" in node.kernels.source
    if small_gemm_limit():  # OpenBLAS with small-matrix kernels: the product was cut
        assert pieces.py_func(37, 512, 128, small_gemm_limit()) == (8, 512)


@needs_numba
def test_gate_gradients_that_two_cats_take_are_written_in_place_once() -> None:
    # a GRU's gate gradients make both x's gradient (GX) and h @ W_hh's (one Cat each):
    # each part is written where one Cat keeps it, and the other Cat copies it from there
    import re

    eager, fast = _pair("GRU")
    x = np.random.default_rng(5).standard_normal((4, 3, 3))
    for a, b in zip(_grads(eager, x), _grads(fast, x), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
    out, _ = fast(mg.tensor(x, dtype=np.float64, requires_grad=True))
    assert isinstance(out.grad_fn, ScanCall)
    bwd = out.grad_fn.kernels.source.split("def bwd")[1]
    sources = re.findall(r"GX0\[t, i0, i1[^\]]*\] = (\w+)", bwd)
    assert sources and all(s.startswith(("v", "h")) for s in sources), sources


def _growing_step(xs, carry):
    (x_t,), (h,) = xs, carry
    return ((x_t + h).tanh(),)  # h (1, 3) broadcast with x_t (B, 3): the new carry is (B, 3)


@needs_numba
def test_a_carry_whose_shape_changes_in_the_step_runs_the_eager_loop() -> None:
    # found by review: the generated loop sized its writes by the new value's shape
    # (an out-of-bounds write into Y); it must not be generated at all
    from minigrad.compile.scan import Scan

    rng = np.random.default_rng(6)
    x = mg.tensor(rng.standard_normal((4 * 3, 3)), dtype=np.float64)
    h0 = mg.tensor(rng.standard_normal((1, 3)), dtype=np.float64)
    scan = Scan(_growing_step)
    assert scan((x,), (h0,), (), 4, False, None, None) is None
    assert any("new carry 0 has shape" in r for r in scan.reasons.values()), scan.reasons
