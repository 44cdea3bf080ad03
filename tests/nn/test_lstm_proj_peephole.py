"""LSTM(proj_size=) against PyTorch's fixtures; peephole LSTM (not in PyTorch) against a
NumPy transcription of its equations and against central differences."""

from __future__ import annotations

import numpy as np
import pytest
from nn_reference import assert_close
from recurrent_reference import fixture_names, leaf, load, state_dict

import minigrad as mg
from minigrad import nn

F64 = np.float64
CASES = fixture_names("lstm_proj_")


def test_fixtures_cover_every_case() -> None:
    assert len(CASES) == 2


@pytest.mark.parametrize("case", CASES)
def test_projected_lstm_matches_pytorch(case: str) -> None:
    ref = load(case)
    cfg = {k[4:]: ref[k].item() for k in ref if k.startswith("cfg.")}
    lstm = nn.LSTM(cfg["input_size"], cfg["hidden_size"], num_layers=cfg["num_layers"],
                   bidirectional=cfg["bidirectional"], batch_first=cfg["batch_first"],
                   proj_size=cfg["proj_size"], dtype=F64)
    sd = state_dict(ref)
    assert list(sd) == list(lstm.state_dict())  # PyTorch's names and order (weight_hr last)
    lstm.load_state_dict(sd)
    x, h0, c0 = leaf(ref["x"]), leaf(ref["h0"]), leaf(ref["c0"])
    out, (h_n, c_n) = lstm(x, (h0, c0))
    outputs = {"out": out, "h_n": h_n, "c_n": c_n}
    for k, v in outputs.items():
        assert_close(v, ref[f"out.{k}"], f"{case}: {k}")
    loss = sum((v * mg.tensor(ref[f"g.{k}"], dtype=F64)).sum() for k, v in outputs.items())
    loss.backward()
    for name, t in (("x", x), ("h0", h0), ("c0", c0)):
        assert_close(t.grad, ref[f"grad.{name}"], f"{case}: grad of {name}")
    for name, p in lstm.named_parameters():
        assert_close(p.grad, ref[f"grad.p.{name}"], f"{case}: grad of {name}")


def test_projected_lstm_default_state_and_refusals() -> None:
    lstm = nn.LSTM(3, 5, proj_size=2, num_layers=2)
    out, (h, c) = lstm(mg.randn(4, 2, 3))
    assert out.shape == (4, 2, 2) and h.shape == (2, 2, 2) and c.shape == (2, 2, 5)
    assert lstm.weight_ih_l1.shape == (20, 2) and lstm.weight_hh_l0.shape == (20, 2)
    assert "proj_size=2" in repr(lstm)
    with pytest.raises(ValueError, match=r"LSTM: expected h_0 of shape \(2, 2, 2\)"):
        lstm(mg.randn(4, 2, 3), (mg.zeros(2, 2, 5), mg.zeros(2, 2, 5)))
    with pytest.raises(ValueError, match="proj_size \\(5\\) must be smaller than hidden_size"):
        nn.LSTM(3, 5, proj_size=5)


def _sig(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def _np_peephole_step(p: dict[str, np.ndarray], x, h, c):
    z = x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"]
    i, f, g, o = np.split(z, 4, axis=-1)
    i = _sig(i + p["weight_ci"] * c)
    f = _sig(f + p["weight_cf"] * c)
    c2 = f * c + i * np.tanh(g)
    o = _sig(o + p["weight_co"] * c2)
    return o * np.tanh(c2), c2


def test_peephole_cell_matches_its_equations_and_gradcheck() -> None:
    mg.manual_seed(3)
    cell = nn.LSTMCell(3, 4, peephole=True, dtype=F64)
    names = [n for n, _ in cell.named_parameters()]
    assert names == ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_ci", "weight_cf",
                     "weight_co"]
    rng = np.random.default_rng(0)
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    params = {n: p.numpy() for n, p in cell.named_parameters()}
    h2, c2 = cell(mg.tensor(x, dtype=F64), (mg.tensor(h, dtype=F64), mg.tensor(c, dtype=F64)))
    eh, ec = _np_peephole_step(params, x, h, c)
    np.testing.assert_allclose(h2.numpy(), eh, rtol=1e-13)
    np.testing.assert_allclose(c2.numpy(), ec, rtol=1e-13)
    # the peepholes matter: without them the result differs
    plain = nn.LSTMCell(3, 4, dtype=F64)
    plain.load_state_dict({k: v for k, v in params.items() if k in plain.state_dict()})
    assert not np.allclose(plain(mg.tensor(x, dtype=F64), (mg.tensor(h, dtype=F64),
                                                         mg.tensor(c, dtype=F64)))[0].numpy(), eh)
    xs, hs, cs = leaf(x), leaf(h), leaf(c)
    assert mg.autograd.gradcheck(lambda a, b, d: cell(a, (b, d))[0] + cell(a, (b, d))[1],
                                 [xs, hs, cs])
    ci = cell.weight_ci
    cell(xs, (hs, cs))[0].sum().backward()
    assert ci.grad is not None and np.abs(ci.grad.numpy()).sum() > 0


def test_peephole_layer_runs_the_cell_over_time_both_directions() -> None:
    mg.manual_seed(5)
    lstm = nn.LSTM(3, 4, bidirectional=True, peephole=True, dtype=F64)
    assert "weight_co_l0_reverse" in lstm.state_dict() and "peephole=True" in repr(lstm)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 2, 3))
    out, (h_n, c_n) = lstm(mg.tensor(x, dtype=F64))
    for d, suffix in enumerate(("_l0", "_l0_reverse")):
        p = {n.replace(suffix, ""): v.numpy() for n, v in lstm.named_parameters() if n.endswith(suffix)}
        h, c = np.zeros((2, 4)), np.zeros((2, 4))
        steps = range(5) if d == 0 else range(4, -1, -1)
        for t in steps:
            h, c = _np_peephole_step(p, x[t], h, c)
            np.testing.assert_allclose(out.numpy()[t, :, 4 * d: 4 * d + 4], h, rtol=1e-12)
        np.testing.assert_allclose(h_n.numpy()[d], h, rtol=1e-12)
        np.testing.assert_allclose(c_n.numpy()[d], c, rtol=1e-12)
    xs = leaf(x[:3, :1])
    small = nn.LSTM(3, 2, num_layers=2, peephole=True, proj_size=1, dtype=F64)
    assert mg.autograd.gradcheck(lambda t: small(t)[0], [xs])


def test_peephole_lstm_draws_like_the_plain_one() -> None:
    lstm = nn.LSTM(3, 4, peephole=True)
    out, _ = lstm(mg.randn(4, 2, 3))
    dot = mg.viz.to_dot(out.sum(), params=dict(lstm.named_parameters()))
    assert "weight_ci_l0" in dot
    assert all(f"t{t}" in dot for t in range(4))  # one cluster per time step
