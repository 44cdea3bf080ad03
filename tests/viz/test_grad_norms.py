"""show_grad_norms: each step coloured by the gradient reaching its hidden state."""

from __future__ import annotations

import re

import numpy as np
import pytest

import minigrad as mg
from minigrad.viz.graph import build_graph

from .helpers import DotGraph, lstm_loss, small_tanh_rnn


def test_small_weight_tanh_rnn_shows_vanishing_gradients_over_30_steps() -> None:
    loss, params = small_tanh_rnn(30, scale=0.2)
    loss.backward(retain_graph=True)
    # every step drawn (max_nodes given), so that each has its coloured cluster
    model = build_graph(loss, params, show_grad_norms=True, max_nodes=2000)
    norms = [model.clusters[f"rnn/t{t}"].norm for t in range(30)]
    assert norms == [model.step_norms[f"rnn/t{t}"] for t in range(30)]
    assert all(n > 0 for n in norms)
    # the loss reads the last state: the gradient shrinks going back in time
    assert norms[0] < 1e-6 * norms[-1]
    assert all(a < b for a, b in zip(norms, norms[1:]))
    fills = [model.clusters[f"rnn/t{t}"].fill for t in range(30)]
    assert len(set(fills)) >= 10
    assert model.norm_range[0] <= np.log10(norms[0]) and np.log10(norms[-1]) <= model.norm_range[1]


def test_colours_appear_in_the_dot_with_the_norm_in_each_step_label() -> None:
    loss, params = small_tanh_rnn(8, scale=0.3)
    loss.backward(retain_graph=True)
    g = DotGraph(mg.viz.to_dot(loss, params, show_grad_norms=True))
    steps = g.step_clusters()
    colours = {c["attrs"]["fillcolor"] for c in steps.values()}
    assert len(colours) >= 4
    for c in steps.values():
        assert re.search(r"\|grad h\| = \d\.\d\de[+-]\d\d", c["label"])
    legend = g.nodes["legend"]["label"]
    assert "log scale" in legend and "1e" in legend


def test_the_state_norm_matches_autograd_grad_of_the_hidden_state() -> None:
    rng = np.random.default_rng(3)
    w = mg.tensor(rng.standard_normal((3, 3)) * 0.5, requires_grad=True)
    h = mg.tensor(rng.standard_normal((1, 3)))
    states = []
    with mg.name_scope("rnn"):
        for t in range(4):
            with mg.name_scope(f"t{t}"):
                h = (h @ w).tanh()
                states.append(h)
    loss = (h * h).sum()
    expected = [float(np.linalg.norm(g.numpy()))
                for g in mg.autograd.grad(loss, states, retain_graph=True)]
    model = build_graph(loss, {"W": w}, show_grad_norms=True)
    got = [model.clusters[f"rnn/t{t}"].norm for t in range(4)]
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_lstm_state_is_h_and_c_and_nothing_is_accumulated() -> None:
    loss, params = lstm_loss(6)
    loss.backward(retain_graph=True)
    before = {k: p.grad.numpy().copy() for k, p in params.items()}
    model = build_graph(loss, params, show_grad_norms=True)
    assert sorted(c.step for c in model.clusters.values() if c.norm is not None) == list(range(6))
    for k, p in params.items():
        np.testing.assert_array_equal(p.grad.numpy(), before[k])


def test_retained_grads_are_left_untouched() -> None:
    x = mg.tensor(np.ones((1, 3)), requires_grad=True)
    y = x * 2.0
    y.retain_grad()
    z = y.sum()
    z.backward(retain_graph=True)
    grad_before = y.grad.numpy().copy()
    mg.viz.to_dot(z, show_grad_norms=True)
    np.testing.assert_array_equal(y.grad.numpy(), grad_before)


def test_folded_steps_show_their_norm_range_as_a_gradient_fill() -> None:
    loss, params = small_tanh_rnn(60, scale=0.3)
    loss.backward(retain_graph=True)
    model = build_graph(loss, params, show_grad_norms=True, max_nodes=150)
    summary = next(n for n in model.nodes.values() if n.kind == "summary")
    assert ":" in summary.fill and any("|grad|" in line for line in summary.lines)


def test_grad_norms_need_a_live_graph() -> None:
    loss, params = small_tanh_rnn(3)
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        mg.viz.to_dot(loss, params, show_grad_norms=True)
