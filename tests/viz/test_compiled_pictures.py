"""Compiled nodes are drawn as the ops they stand for (``expand_compiled``, on by default):
a recurrent layer after ``.compile()`` gives the picture of the eager layer, gradient-norm
colours included, and drawing leaves the user's graph as it was."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import Function
from minigrad.compile import CompiledCall
from minigrad.compile.scan import ScanCall
from minigrad.viz.graph import build_graph

LAYERS = [("RNN", 1, False), ("LSTM", 1, False), ("GRU", 1, False), ("LSTM", 2, True)]


def _layer_loss(cls: str, layers: int, bidirectional: bool, compiled: bool, steps: int = 4):
    """The same layer (same seed, so the same weights) on the same input; loss and params."""
    mg.manual_seed(0)
    layer = getattr(mg.nn, cls)(3, 4, num_layers=layers, bidirectional=bidirectional)
    layer.double().compile(compiled)
    x = mg.tensor(np.random.default_rng(0).standard_normal((steps, 2, 3)), requires_grad=True,
                  dtype=np.float64)
    out, _ = layer(x)
    return (out * out).sum(), dict(layer.named_parameters()), x


def _functions(root: mg.Tensor) -> list[Function]:
    """Every Function under ``root``, by the raw ``next`` edges."""
    stack, seen = [root.grad_fn], []
    while stack:
        fn = stack.pop()
        if fn is None or any(fn is s for s in seen):
            continue
        seen.append(fn)
        stack.extend(e[0] for e in fn.next if e is not None and isinstance(e[0], Function))
    return seen


def _edges(root: mg.Tensor) -> list[tuple[Function, tuple]]:
    return [(fn, fn.next) for fn in _functions(root)]


@pytest.mark.parametrize("detail", ["ops", "modules"])
@pytest.mark.parametrize("cls,layers,bidirectional", LAYERS)
def test_a_compiled_layer_draws_the_eager_picture(cls, layers, bidirectional, detail) -> None:
    eager, params_e, _ = _layer_loss(cls, layers, bidirectional, compiled=False)
    fast, params_c, _ = _layer_loss(cls, layers, bidirectional, compiled=True)
    assert any(isinstance(f, (CompiledCall, ScanCall)) for f in _functions(fast))  # really compiled
    want = mg.viz.to_dot(eager, params_e, show_grad_norms=True, detail=detail)
    got = mg.viz.to_dot(fast, params_c, show_grad_norms=True, detail=detail)
    assert got == want
    assert "Compiled[" not in got and "fillcolor" in got


def test_the_op_level_has_the_gate_ops_in_each_step_cluster() -> None:
    fast, params, _ = _layer_loss("LSTM", 1, False, compiled=True)
    model = build_graph(fast, params, detail="ops")
    for t in range(4):
        names = {model.nodes[n].lines[0] for n in model.clusters[f"lstm/l0/fwd/t{t}"].nodes}
        assert {"Sigmoid", "Tanh", "MatMul", "Mul"} <= names, names


@pytest.mark.parametrize("cls,layers,bidirectional", LAYERS)
def test_step_grad_norms_are_the_eager_ones(cls, layers, bidirectional) -> None:
    eager, params_e, _ = _layer_loss(cls, layers, bidirectional, compiled=False, steps=6)
    fast, params_c, _ = _layer_loss(cls, layers, bidirectional, compiled=True, steps=6)
    want = build_graph(eager, params_e, show_grad_norms=True, max_nodes=5000).step_norms
    got = build_graph(fast, params_c, show_grad_norms=True, max_nodes=5000).step_norms
    assert len(want) == 6 * layers * (2 if bidirectional else 1)
    assert got.keys() == want.keys()
    np.testing.assert_allclose([got[k] for k in want], list(want.values()), rtol=1e-12)
    assert len({round(np.log10(v), 3) for v in got.values()}) > 1  # steps do differ


@pytest.mark.parametrize("detail", ["ops"])
def test_expand_compiled_false_draws_the_compiled_nodes(detail) -> None:
    fast, params, _ = _layer_loss("GRU", 1, False, compiled=True)
    text = mg.viz.to_dot(fast, params, expand_compiled=False, detail=detail,
                         show_grad_norms=True)
    # the whole loop as one Scan node where numba generates it, else one node per step
    assert "Scan[GRUCell.step]" in text or text.count("Compiled[GRUCell.step]") >= 4
    assert text != mg.viz.to_dot(fast, params, detail=detail, show_grad_norms=True)


def test_drawing_leaves_the_graph_as_it_was_and_twice_draws_the_same() -> None:
    fast, params, x = _layer_loss("LSTM", 2, True, compiled=True)
    twin, params_t, x_t = _layer_loss("LSTM", 2, True, compiled=True)
    before = _edges(fast)
    first = mg.viz.to_dot(fast, params, show_grad_norms=True, detail="ops")
    mg.viz.build_graph(fast, params, show_grad_norms=True, detail="modules")
    assert mg.viz.to_dot(fast, params, show_grad_norms=True, detail="ops") == first
    after = _edges(fast)
    assert len(after) == len(before)
    for (fn_a, next_a), (fn_b, next_b) in zip(before, after):
        assert fn_a is fn_b and next_a is next_b and fn_b.next is next_a
    assert all(p.grad is None for p in params.values())  # nothing accumulated
    fast.backward()
    twin.backward()
    for name, p in params.items():
        np.testing.assert_array_equal(p.grad.numpy(), params_t[name].grad.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), x_t.grad.numpy())


def test_the_graph_is_put_back_when_drawing_fails(monkeypatch) -> None:
    fast, params, _ = _layer_loss("RNN", 1, False, compiled=True)
    before = _edges(fast)

    def broken(*args, **kwargs):
        raise KeyError("mid-drawing")

    monkeypatch.setattr("minigrad.viz.graph._build", broken)
    with pytest.raises(KeyError, match="mid-drawing"):
        mg.viz.to_dot(fast, params, show_grad_norms=True)
    assert [(f, n) for f, n in before] == [(f, f.next) for f, _ in before]
    assert all(isinstance(f.next[0][0], (Function, mg.Tensor)) for f, _ in before if f.next[0])
    assert any(isinstance(e[0], (CompiledCall, ScanCall)) for f, _ in before for e in f.next if e)


def _gates(x: mg.Tensor, w: mg.Tensor, b: mg.Tensor) -> mg.Tensor:
    with mg.name_scope("gates"):
        a, z = mg.chunk(x @ w, 2, axis=-1)
    return a.tanh() * (z + b).sigmoid()


def _plain_net(compiled: bool, steps: int = 5):
    """A hand-written loop over ``name_scope("net")/t<k>`` calling ``_gates`` (compiled
    or not); returns the loss, the named leaves and each step's output."""
    rng = np.random.default_rng(1)
    w = mg.tensor(rng.standard_normal((3, 6)) * 0.8, requires_grad=True)
    b = mg.tensor(rng.standard_normal(3), requires_grad=True)
    h = mg.tensor(rng.standard_normal((2, 3)))
    fn = mg.compile(_gates) if compiled else _gates
    states = []
    with mg.name_scope("net"):
        for t in range(steps):
            with mg.name_scope(f"t{t}"):
                h = fn(h, w, b) + 0.5 * h
                states.append(h)
    return (h * h).sum(), {"W": w, "b": b}, states


def test_a_plain_compiled_function_expands_too() -> None:
    eager, params_e, _ = _plain_net(compiled=False)
    fast, params_c, states = _plain_net(compiled=True)
    assert any(isinstance(f, CompiledCall) for f in _functions(fast))
    for detail in ("ops", "modules"):
        want = mg.viz.to_dot(eager, params_e, show_grad_norms=True, detail=detail)
        assert mg.viz.to_dot(fast, params_c, show_grad_norms=True, detail=detail) == want
    text = mg.viz.to_dot(fast, params_c, detail="ops")
    assert "Sigmoid" in text and "Compiled[" not in text
    assert "Compiled[_gates]" in mg.viz.to_dot(fast, params_c, detail="ops",
                                               expand_compiled=False)


def test_plain_compiled_step_norms_match_the_compiled_backward() -> None:
    fast, params, states = _plain_net(compiled=True)
    expected = [float(np.linalg.norm(g.numpy()))
                for g in mg.autograd.grad(fast, states, retain_graph=True)]  # compiled backward
    model = build_graph(fast, params, show_grad_norms=True)
    np.testing.assert_allclose([model.step_norms[f"net/t{t}"] for t in range(5)], expected,
                               rtol=1e-5)


def test_a_root_made_by_a_compiled_node_expands() -> None:
    rng = np.random.default_rng(2)
    w = mg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    x = mg.tensor(rng.standard_normal((2, 3)))

    def loss_of(x: mg.Tensor, w: mg.Tensor) -> mg.Tensor:
        return ((x @ w).tanh() * 3.0).sum()

    compiled = mg.compile(loss_of)
    compiled(x, w)
    with mg.name_scope("head"):
        fast = compiled(x, w)
        eager = loss_of(x, w)
    assert isinstance(fast.grad_fn, CompiledCall)
    want = mg.viz.to_dot(eager, {"W": w}, show_grad_norms=True, detail="ops")
    assert mg.viz.to_dot(fast, {"W": w}, show_grad_norms=True, detail="ops") == want
    assert "Tanh" in want and "Compiled[" not in want


def test_nested_compiled_functions_expand_all_the_way() -> None:
    rng = np.random.default_rng(3)
    w = mg.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    x = mg.tensor(rng.standard_normal((2, 3)), requires_grad=True)

    def inner(a: mg.Tensor, w: mg.Tensor) -> mg.Tensor:
        return (a @ w).tanh()

    inner_c = mg.compile(inner)

    def outer(a: mg.Tensor, w: mg.Tensor, f=inner_c) -> mg.Tensor:
        with mg.name_scope("in"):
            b = f(a, w)
        return b * 2.0 + a

    inner_c(x, w)  # traced first: tracing one compiled function inside another's trace
    outer_c = mg.compile(outer)
    outer_c(x, w)
    with mg.name_scope("blk"):
        fast = outer_c(x, w).sum()
        eager = outer(x, w, inner).sum()
    inside = outer_c.plans and next(iter(outer_c.plans.values()))
    assert inside is not None and inside.forward[0].fn.name == "Compiled[inner]"
    want = mg.viz.to_dot(eager, show_grad_norms=True, detail="ops")
    got = mg.viz.to_dot(fast, show_grad_norms=True, detail="ops")
    assert got == want and "Compiled[" not in got


def test_a_freed_compiled_graph_gives_the_usual_message() -> None:
    fast, params, _ = _layer_loss("RNN", 1, False, compiled=True)
    fast.backward()
    with pytest.raises(RuntimeError, match="freed by a backward"):
        mg.viz.to_dot(fast, params)


def test_grad_norms_refuse_inputs_changed_in_place_as_backward_does() -> None:
    fast, params, _ = _layer_loss("RNN", 1, False, compiled=True)
    mg.viz.to_dot(fast, params)  # the structure alone is still drawn ...
    with mg.no_grad():
        params["weight_hh_l0"].mul_(2.0)
    mg.viz.to_dot(fast, params)
    with pytest.raises(RuntimeError, match="modified in place"):  # ... its norms are not
        mg.viz.to_dot(fast, params, show_grad_norms=True)
    with pytest.raises(RuntimeError, match="modified in place"):
        fast.backward()
