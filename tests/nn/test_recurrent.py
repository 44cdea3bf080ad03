"""RNN/LSTM/GRU layers and cells: PyTorch's values and gradients, packed-sequence
semantics through ``lengths``, parameter layout, scopes, speed structure and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from nn_reference import assert_close
from recurrent_reference import (
    fixture_names,
    graph_functions,
    leaf,
    load,
    state_dict,
    weighted_loss,
    with_params,
)

import minigrad as mg
from minigrad import nn

F64 = np.float64
LAYER_CASES = [n for n in fixture_names("recurrent_") if not n.startswith("recurrent_cell")]
CELL_CASES = fixture_names("recurrent_cell_")


def _make_layer(ref: dict[str, np.ndarray]) -> nn.Module:
    mode = str(ref["cfg.mode"])
    kw = dict(
        num_layers=int(ref["cfg.num_layers"]),
        bidirectional=bool(ref["cfg.bidirectional"]),
        batch_first=bool(ref["cfg.batch_first"]),
    )
    sizes = int(ref["cfg.input_size"]), int(ref["cfg.hidden_size"])
    if mode.startswith("rnn"):
        layer = nn.RNN(*sizes, nonlinearity=mode[4:], **kw)
    else:
        layer = (nn.LSTM if mode == "lstm" else nn.GRU)(*sizes, **kw)
    layer.double()
    layer.load_state_dict(state_dict(ref))
    return layer


def test_fixtures_cover_every_configuration() -> None:
    assert len(LAYER_CASES) == 4 * 2 * 2 * 2 * 2 + 6
    assert len(CELL_CASES) == 8


@pytest.mark.parametrize("case", LAYER_CASES)
def test_layer_matches_pytorch_values_and_gradients(case: str) -> None:
    ref = load(case)
    layer = _make_layer(ref)
    x = leaf(ref["x"])
    inputs = {"x": x}
    hx = None
    if "h0" in ref:
        inputs["h0"] = leaf(ref["h0"])
        hx = inputs["h0"]
        if "c0" in ref:
            inputs["c0"] = leaf(ref["c0"])
            hx = (inputs["h0"], inputs["c0"])
    out, state = layer(x, hx, lengths=ref.get("lengths"))
    outputs = {"output": out}
    if isinstance(state, tuple):
        outputs["h_n"], outputs["c_n"] = state
    else:
        outputs["h_n"] = state
    for name, t in outputs.items():
        assert_close(t, ref[f"out.{name}"], f"{case} {name}")
    weighted_loss(ref, outputs).backward()
    for name, t in inputs.items():
        assert_close(t.grad, ref[f"grad.{name}"], f"{case} d/d{name}")
    for name, p in layer.named_parameters():
        assert_close(p.grad, ref[f"grad.p.{name}"], f"{case} d/d{name}")


@pytest.mark.parametrize("case", CELL_CASES)
def test_cell_matches_pytorch_values_and_gradients(case: str) -> None:
    ref = load(case)
    mode = str(ref["cfg.mode"])
    size = ref["p.weight_ih"].shape[1], ref["p.weight_hh"].shape[1]
    if mode.startswith("rnn"):
        cell = nn.RNNCell(*size, nonlinearity=mode[4:])
    else:
        cell = (nn.LSTMCell if mode == "lstm" else nn.GRUCell)(*size)
    cell.double().load_state_dict(state_dict(ref))
    inputs = {k: leaf(ref[k]) for k in ("x", "h0", "c0") if k in ref}
    if mode == "lstm":
        h, c = cell(inputs["x"], (inputs["h0"], inputs["c0"]))
        outputs = {"h": h, "c": c}
    else:
        outputs = {"h": cell(inputs["x"], inputs["h0"])}
    for name, t in outputs.items():
        assert_close(t, ref[f"out.{name}"], f"{case} {name}")
    weighted_loss(ref, outputs).backward()
    for name, t in inputs.items():
        assert_close(t.grad, ref[f"grad.{name}"], f"{case} d/d{name}")
    for name, p in cell.named_parameters():
        assert_close(p.grad, ref[f"grad.p.{name}"], f"{case} d/d{name}")


# ---------------------------------------------------------------- gradcheck
def _params(module: nn.Module) -> tuple[list[str], list[mg.Tensor]]:
    names = [n for n, _ in module.named_parameters()]
    return names, [leaf(p.numpy()) for _, p in module.named_parameters()]


@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_cell_gradcheck(kind: str) -> None:
    mg.manual_seed(3)
    if kind.startswith("rnn"):
        cell = nn.RNNCell(3, 4, nonlinearity=kind[4:])
    else:
        cell = (nn.LSTMCell if kind == "lstm" else nn.GRUCell)(3, 4)
    cell.double()
    names, params = _params(cell)
    x, h = leaf(np.random.default_rng(0).normal(size=(2, 3))), leaf(np.full((2, 4), 0.3))
    if kind == "lstm":
        c = leaf(np.full((2, 4), -0.2))
        fn = with_params(cell, names, lambda x, h, c: cell(x, (h, c)))
        assert mg.autograd.gradcheck(fn, (x, h, c, *params))
    else:
        fn = with_params(cell, names, lambda x, h: cell(x, h))
        assert mg.autograd.gradcheck(fn, (x, h, *params))


@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_bidirectional_layer_with_lengths_gradcheck(mode: str) -> None:
    mg.manual_seed(4)
    layer = (nn.LSTM if mode == "lstm" else nn.GRU)(2, 2, bidirectional=True)
    layer.double()
    names, params = _params(layer)
    x = leaf(np.random.default_rng(1).normal(size=(3, 3, 2)))

    def run(x: mg.Tensor) -> tuple[mg.Tensor, ...]:
        out, state = layer(x, lengths=[3, 1, 2])
        return (out, *state) if isinstance(state, tuple) else (out, state)

    fn = with_params(layer, names, run)
    assert mg.autograd.gradcheck(fn, (x, *params))


# ---------------------------------------------------------------- lengths
def test_lengths_accepts_list_numpy_and_int_tensor() -> None:
    mg.manual_seed(0)
    gru = nn.GRU(3, 2, bidirectional=True).double()
    x = mg.tensor(np.random.default_rng(2).normal(size=(4, 3, 3)), dtype=F64)
    outs = [
        gru(x, lengths=lengths)[0].numpy()
        for lengths in ([4, 2, 1], np.array([4, 2, 1]), mg.tensor(np.array([4, 2, 1])))
    ]
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], outs[2])
    assert np.all(outs[0][2:, 1] == 0.0) and np.all(outs[0][1:, 2] == 0.0)


def test_padding_values_neither_change_results_nor_get_gradient() -> None:
    mg.manual_seed(0)
    lstm = nn.LSTM(3, 2, bidirectional=True, batch_first=True).double()
    rng = np.random.default_rng(5)
    base = rng.normal(size=(2, 5, 3))
    noisy = base.copy()
    noisy[0, 3:] = 1e3  # row 0 has length 3: these steps are padding
    results = []
    for data in (base, noisy):
        x = leaf(data)
        out, (h, c) = lstm(x, lengths=[3, 5])
        (out.sum() + h.sum() + c.sum()).backward()
        results.append((out.numpy(), h.numpy(), c.numpy(), x.grad.numpy()))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    assert np.all(results[0][3][0, 3:] == 0.0)
    assert np.any(results[0][3][0, :3] != 0.0)


def test_full_lengths_equal_no_lengths() -> None:
    mg.manual_seed(1)
    rnn = nn.RNN(3, 4, num_layers=2, bidirectional=True).double()
    x = mg.tensor(np.random.default_rng(3).normal(size=(5, 2, 3)), dtype=F64)
    a, ha = rnn(x)
    b, hb = rnn(x, lengths=[5, 5])
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ha.numpy(), hb.numpy(), rtol=1e-12)


# ---------------------------------------------------------------- layout and init
def test_parameter_names_shapes_and_order_are_pytorchs() -> None:
    lstm = nn.LSTM(5, 3, num_layers=2, bidirectional=True)
    expected = []
    for layer, fan_in in ((0, 5), (1, 6)):
        for sfx in ("", "_reverse"):
            expected += [
                (f"weight_ih_l{layer}{sfx}", (12, fan_in)),
                (f"weight_hh_l{layer}{sfx}", (12, 3)),
                (f"bias_ih_l{layer}{sfx}", (12,)),
                (f"bias_hh_l{layer}{sfx}", (12,)),
            ]
    assert [(n, p.shape) for n, p in lstm.named_parameters()] == expected
    gru = nn.GRU(5, 4, bias=False)
    assert [(n, p.shape) for n, p in gru.named_parameters()] == [
        ("weight_ih_l0", (12, 5)),
        ("weight_hh_l0", (12, 4)),
    ]
    cell = nn.RNNCell(5, 4)
    assert [(n, p.shape) for n, p in cell.named_parameters()] == [
        ("weight_ih", (4, 5)),
        ("weight_hh", (4, 4)),
        ("bias_ih", (4,)),
        ("bias_hh", (4,)),
    ]


def test_init_is_uniform_within_one_over_sqrt_hidden() -> None:
    mg.manual_seed(0)
    hidden = 16
    values = np.concatenate([p.numpy().ravel() for p in nn.LSTM(8, hidden, num_layers=2).parameters()])
    bound = 1.0 / math.sqrt(hidden)
    assert values.min() >= -bound and values.max() <= bound
    # U(-b, b) has variance b^2 / 3; a different init would miss this by far.
    assert abs(values.var() - bound**2 / 3) < 0.05 * bound**2
    mg.manual_seed(0)
    again = np.concatenate([p.numpy().ravel() for p in nn.LSTM(8, hidden, num_layers=2).parameters()])
    np.testing.assert_array_equal(values, again)


def test_float32_stays_float32() -> None:
    lstm = nn.LSTM(3, 4, bidirectional=True)
    x = mg.randn(6, 2, 3, requires_grad=True)
    out, (h, c) = lstm(x, lengths=[6, 3])
    (out.sum() + c.sum()).backward()
    assert out.dtype == h.dtype == c.dtype == np.float32
    assert x.grad.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in lstm.parameters())


# ---------------------------------------------------------------- scopes and structure
def test_every_layer_direction_and_step_has_a_scope() -> None:
    lstm = nn.LSTM(3, 2, num_layers=2, bidirectional=True)
    out, _ = lstm(mg.randn(3, 1, 3, requires_grad=True))
    scopes = {fn.scope for fn in graph_functions(out)}
    for layer in (0, 1):
        for direction in ("fwd", "bwd"):
            for t in range(3):
                assert f"lstm/l{layer}/{direction}/t{t}" in scopes
    gru_out, _ = nn.GRU(3, 2)(mg.randn(2, 1, 3, requires_grad=True))
    assert {"gru/l0/fwd/t0", "gru/l0/fwd/t1"} <= {fn.scope for fn in graph_functions(gru_out)}
    h = nn.LSTMCell(3, 2)(mg.randn(1, 3, requires_grad=True))[0]
    assert {fn.scope for fn in graph_functions(h)} == {"lstm_cell"}


def test_reverse_step_scope_holds_the_step_that_reads_that_input() -> None:
    rnn = nn.RNN(2, 2, bidirectional=True)
    out, _ = rnn(mg.randn(4, 1, 2, requires_grad=True))
    # The reverse direction's first step is t3, and only it reads the zero initial state.
    step_fns = [fn for fn in graph_functions(out) if fn.scope == "rnn/l0/bwd/t3"]
    assert step_fns and any(fn.name == "MatMul" for fn in step_fns)


@pytest.mark.parametrize("cls, gates", [(nn.LSTM, 4), (nn.GRU, 3), (nn.RNN, 1)])
def test_one_input_projection_per_sequence_and_one_hidden_matmul_per_step(cls, gates) -> None:
    steps = 7
    layer = cls(3, 5)
    out, _ = layer(mg.randn(steps, 2, 3, requires_grad=True))
    fns = list(graph_functions(out))
    matmuls = [fn for fn in fns if fn.name == "MatMul"]
    assert len(matmuls) == steps and {fn.out_shape for fn in matmuls} == {(2, gates * 5)}
    # the whole sequence's x W_ih^T + b: one op on (T*B, I)
    projections = [fn for fn in fns if fn.name == "Linear"]
    assert [fn.out_shape for fn in projections] == [(steps * 2, gates * 5)]
    transposes = [fn for fn in fns if fn.name == "Transpose"]
    assert len(transposes) == 1  # W_hh^T, once per call


# ---------------------------------------------------------------- shapes and modes
def test_unbatched_input_equals_a_batch_of_one() -> None:
    mg.manual_seed(2)
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True).double()
    x = np.random.default_rng(0).normal(size=(5, 3))
    out, (h, c) = lstm(mg.tensor(x, dtype=F64))
    out_b, (h_b, c_b) = lstm(mg.tensor(x[:, None], dtype=F64))
    assert out.shape == (5, 8) and h.shape == c.shape == (4, 4)
    np.testing.assert_allclose(out.numpy(), out_b.numpy()[:, 0], rtol=1e-12)
    np.testing.assert_allclose(c.numpy(), c_b.numpy()[:, 0], rtol=1e-12)
    cell = nn.GRUCell(3, 4).double()
    assert cell(mg.tensor(x[0], dtype=F64)).shape == (4,)


def test_batch_first_changes_layout_only_and_h_n_is_never_batch_first() -> None:
    mg.manual_seed(3)
    a = nn.GRU(3, 2, num_layers=2).double()
    b = nn.GRU(3, 2, num_layers=2, batch_first=True).double()
    b.load_state_dict(a.state_dict())
    x = np.random.default_rng(1).normal(size=(6, 4, 3))
    out_a, h_a = a(mg.tensor(x, dtype=F64))
    out_b, h_b = b(mg.tensor(x.transpose(1, 0, 2), dtype=F64))
    assert out_b.shape == (4, 6, 2) and h_b.shape == (2, 4, 2)
    np.testing.assert_allclose(out_b.numpy().transpose(1, 0, 2), out_a.numpy(), rtol=1e-12)
    np.testing.assert_allclose(h_b.numpy(), h_a.numpy(), rtol=1e-12)


def test_dropout_between_layers_only_in_training_and_not_after_last_layer() -> None:
    mg.manual_seed(0)
    x = mg.randn(5, 3, 4)
    two = nn.LSTM(4, 8, num_layers=2, dropout=0.5)
    train_out = two(x)[0].numpy()
    two.eval()
    eval_out = two(x)[0].numpy()
    assert not np.allclose(train_out, eval_out)
    np.testing.assert_array_equal(two(x)[0].numpy(), eval_out)
    one = nn.GRU(4, 8, num_layers=1, dropout=0.9)
    np.testing.assert_array_equal(one(x)[0].numpy(), one.eval()(x)[0].numpy())


def test_truncated_bptt_with_a_detached_state_stops_the_gradient() -> None:
    mg.manual_seed(0)
    lstm = nn.LSTM(2, 3)
    first = mg.randn(4, 1, 2, requires_grad=True)
    second = mg.randn(4, 1, 2, requires_grad=True)
    _, (h, c) = lstm(first)
    out, _ = lstm(second, (h.detach(), c.detach()))
    out.sum().backward()
    assert first.grad is None
    assert second.grad is not None and np.any(second.grad.numpy() != 0)
    _, (h, c) = lstm(first)
    lstm(second, (h, c))[0].sum().backward()
    assert first.grad is not None and np.any(first.grad.numpy() != 0)


# ---------------------------------------------------------------- errors
def test_wrong_feature_size_names_layer_given_and_expected() -> None:
    with pytest.raises(ValueError, match=r"LSTM: input has feature size 5.*input_size=4"):
        nn.LSTM(4, 3)(mg.randn(2, 1, 5))
    with pytest.raises(ValueError, match=r"GRUCell: input has feature size 2.*input_size=4"):
        nn.GRUCell(4, 3)(mg.randn(1, 2))
    with pytest.raises(ValueError, match=r"RNN: expected a 3-D input"):
        nn.RNN(4, 3)(mg.randn(2, 1, 1, 4))


def test_wrong_hidden_state_shape_names_layer_given_and_expected() -> None:
    lstm = nn.LSTM(4, 3, num_layers=2)
    x = mg.randn(5, 2, 4)
    with pytest.raises(ValueError, match=r"LSTM: expected c_0 of shape \(2, 2, 3\).*\(1, 2, 3\)"):
        lstm(x, (mg.zeros(2, 2, 3), mg.zeros(1, 2, 3)))
    with pytest.raises(ValueError, match=r"GRU: expected h_0 of shape \(1, 2, 3\).*\(1, 3, 3\)"):
        nn.GRU(4, 3)(x, mg.zeros(1, 3, 3))
    with pytest.raises(TypeError, match=r"LSTM: expected hx as a pair \(h_0, c_0\).*\(2, 2, 3\)"):
        lstm(x, mg.zeros(2, 2, 3))
    with pytest.raises(ValueError, match=r"LSTMCell: expected c of shape \(2, 3\).*\(2, 4\)"):
        nn.LSTMCell(4, 3)(mg.randn(2, 4), (mg.zeros(2, 3), mg.zeros(2, 4)))


@pytest.mark.parametrize(
    "lengths, pattern",
    [
        ([5, 6], r"GRU: every length must be in \[1, 5\].*\[5, 6\]"),
        ([0, 3], r"GRU: every length must be in \[1, 5\].*\[0, 3\]"),
        ([3], r"GRU: lengths must hold one length per batch row \(2\)"),
    ],
)
def test_bad_lengths_name_layer_given_and_expected(lengths, pattern) -> None:
    with pytest.raises(ValueError, match=pattern):
        nn.GRU(4, 3)(mg.randn(5, 2, 4), lengths=lengths)


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU])
def test_layer_on_every_device_equals_cpu(cls, device: str) -> None:
    mg.manual_seed(0)
    layer = cls(3, 4, num_layers=2, bidirectional=True).double()
    x = np.random.default_rng(0).normal(size=(5, 3, 3))
    lengths = np.array([5, 2, 4])
    out_cpu, _ = layer(mg.tensor(x, dtype=F64), lengths=lengths)
    layer.to(device)
    x_dev = mg.tensor(x, dtype=F64, device=device, requires_grad=True)
    out, state = layer(x_dev, lengths=mg.tensor(lengths, device=device))
    assert out.device == device
    np.testing.assert_allclose(out.numpy(), out_cpu.numpy(), rtol=1e-10, atol=1e-12)
    out.sum().backward()
    assert x_dev.grad.device == device
    assert all(p.grad.device == device for p in layer.parameters())


def test_reset_parameters_redraws_within_the_bound() -> None:
    cell = nn.GRUCell(3, 9)
    before = cell.weight_hh.numpy().copy()
    cell.reset_parameters()
    after = cell.weight_hh.numpy()
    assert not np.array_equal(before, after)
    assert np.abs(after).max() <= 1 / 3
    layer = nn.RNN(3, 4)
    layer.flatten_parameters()  # PyTorch-compatible no-op
    assert [n for n, _ in layer.named_parameters()][0] == "weight_ih_l0"


@pytest.mark.parametrize("cls, nonlinearity", [(nn.RNNCell, "relu"), (nn.LSTMCell, None),
                                                (nn.GRUCell, None)])
def test_cell_step_is_a_plain_function_of_tensors_that_the_cell_and_its_layer_run(
        cls, nonlinearity) -> None:
    mg.manual_seed(2)
    kwargs = {"nonlinearity": nonlinearity} if nonlinearity else {}
    cell = cls(3, 4, dtype=F64, **kwargs)
    x = mg.tensor(np.random.default_rng(0).standard_normal((2, 3)), dtype=F64)
    state = tuple(mg.randn(2, 4, dtype=F64) for _ in cls.state_names)
    gi = cls.project(x, cell.weight_ih, cell.bias_ih, cell.bias_hh)
    args = cls.step_args(cell, lambda kind: getattr(cell, kind, None))
    by_step = cls.step(gi, state, cell.weight_hh.T, **args)
    by_cell = cell(x, state if len(state) == 2 else state[0])
    by_cell = by_cell if isinstance(by_cell, tuple) else (by_cell,)
    for a, b in zip(by_step, by_cell, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    layer = {nn.RNNCell: nn.RNN, nn.LSTMCell: nn.LSTM, nn.GRUCell: nn.GRU}[cls](3, 4, dtype=F64, **kwargs)
    assert layer.cell is cls
    layer.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()})
    _, h_n = layer(x.unsqueeze(0), tuple(s.unsqueeze(0) for s in state) if len(state) == 2
                   else state[0].unsqueeze(0))
    h_n = h_n if isinstance(h_n, tuple) else (h_n,)
    for a, b in zip(h_n, by_step, strict=True):
        np.testing.assert_allclose(a.numpy()[0], b.numpy(), rtol=1e-13)


def test_proj_size_is_refused_by_rnn_and_gru_as_in_pytorch() -> None:
    for cls in (nn.RNN, nn.GRU):
        with pytest.raises(ValueError, match=f"{cls.__name__}: proj_size is only supported by LSTM"):
            cls(3, 5, proj_size=2)
    with pytest.raises(TypeError, match="GRUCell: unexpected keyword argument 'peephole'"):
        nn.GRUCell(3, 5, peephole=True)
