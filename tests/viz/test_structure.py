"""The DOT model of unrolled graphs: clusters per step, names, references, folding."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import minigrad as mg
from minigrad.viz.graph import build_graph, step_of

from .helpers import DotGraph, lstm_loss, small_tanh_rnn


def test_lstm_has_one_cluster_per_step_in_time_order() -> None:
    loss, params = lstm_loss(5)
    g = DotGraph(mg.viz.to_dot(loss, params))
    steps = g.step_clusters()
    assert sorted(steps) == [0, 1, 2, 3, 4]
    labels = [c["label"] for c in g.clusters]
    assert "lstm" in labels and "l0" in labels and "fwd" in labels
    # step clusters are written in time order, nested inside lstm > l0 > fwd
    order = [int(c["label"][1:]) for c in g.clusters if c in steps.values()]
    assert order == sorted(order)
    fwd = next(c for c in g.clusters if c["label"] == "fwd")
    assert all(set(c["nodes"]) <= set(fwd["nodes"]) for c in steps.values())


def test_every_parameter_is_named_once() -> None:
    loss, params = lstm_loss(4)
    g = DotGraph(mg.viz.to_dot(loss, params))
    leaf_labels = [n["label"] for name, n in g.nodes.items() if "leaf" in g.kind(name)]
    for name, p in params.items():
        shape = "(" + ", ".join(map(str, p.shape)) + ("," if p.ndim == 1 else "") + ")"
        assert leaf_labels.count(f"{name}\n{shape}") == 1, name
    param_cluster = next(c for c in g.clusters if c["label"] == "parameters")
    assert len(param_cluster["nodes"]) == len(params)


def test_op_count_is_equal_across_steps_and_recurrent_edges_join_neighbours() -> None:
    loss, params = lstm_loss(6)
    g = DotGraph(mg.viz.to_dot(loss, params))
    steps = g.step_clusters()
    counts = {t: sum("op" in g.kind(n) for n in c["nodes"]) for t, c in steps.items()}
    assert len(set(counts.values())) == 1 and counts[0] > 5, counts
    where = {n: t for t, c in steps.items() for n in c["nodes"]}
    recurrent = [(a, b) for a, b, kind in g.edges if kind == "recurrent"]
    pairs = collections.Counter((where[a], where[b]) for a, b in recurrent)
    # h and c of step t feed step t + 1, nothing else is recurrent
    assert pairs == {(t, t + 1): 2 for t in range(5)}


def test_shared_weights_are_drawn_once_with_a_reference_per_step() -> None:
    loss, params = lstm_loss(8)
    g = DotGraph(mg.viz.to_dot(loss, params))
    steps = g.step_clusters()
    for t, c in steps.items():
        refs = [g.nodes[n]["label"] for n in c["nodes"] if "ref" in g.kind(n)]
        assert "Transpose(weight_hh_l0)\n(shared)" in refs, (t, refs)
    # no node outside the steps sends edges into more than one step
    where = {n: t for t, c in steps.items() for n in c["nodes"]}
    fan = collections.defaultdict(set)
    for a, b, _ in g.edges:
        if a not in where and b in where:
            fan[a].add(where[b])
        if b not in where and a in where:
            fan[b].add(where[a])
    assert all(len(s) <= 1 for s in fan.values()), fan


def test_hand_written_loop_with_leaf_weights_used_in_every_step() -> None:
    loss, params = small_tanh_rnn(6)
    g = DotGraph(mg.viz.to_dot(loss, params))
    steps = g.step_clusters()
    assert sorted(steps) == list(range(6))
    for c in steps.values():
        refs = {g.nodes[n]["label"] for n in c["nodes"] if "ref" in g.kind(n)}
        assert {"W_hh\n(shared)", "W_xh\n(shared)", "b\n(shared)"} <= refs
    w_hh = next(n for n, a in g.nodes.items() if a.get("label") == "W_hh\n(4, 4)")
    assert [k for a, _, k in g.edges if a == w_hh] == ["ref"]


def test_the_root_is_marked() -> None:
    loss, params = lstm_loss(3)
    g = DotGraph(mg.viz.to_dot(loss, params))
    roots = [n for n in g.nodes if "root" in g.kind(n)]
    assert len(roots) == 1 and g.nodes[roots[0]]["label"].startswith("Sum")


def test_shapes_can_be_left_out_and_unnamed_leaves_show_their_shape() -> None:
    loss, params = small_tanh_rnn(3)
    g = DotGraph(mg.viz.to_dot(loss, show_shapes=False))
    labels = {a["label"] for a in g.nodes.values() if "label" in a}
    assert "MatMul" in labels and "(4, 4)" in labels and "Tanh" in labels


def test_long_sequences_fold_the_middle_steps() -> None:
    loss, params = lstm_loss(300)
    text = mg.viz.to_dot(loss, params, max_nodes=500)
    g = DotGraph(text)
    assert sorted(g.step_clusters()) == [0, 1, 2, 297, 298, 299]
    summaries = [a["label"] for n, a in g.nodes.items() if "summary" in g.kind(n)]
    assert len(summaries) == 1 and summaries[0].startswith("t3 ... t296\n294 steps folded")
    assert len(g.nodes) <= 500
    recurrent = [(a, b) for a, b, k in g.edges if k == "recurrent"]
    summary = next(n for n in g.nodes if "summary" in g.kind(n))
    assert any(b == summary for _, b in recurrent) and any(a == summary for a, _ in recurrent)


def test_graphs_without_steps_are_cut_at_max_nodes() -> None:
    x = mg.tensor(np.ones(3), requires_grad=True)
    y = x
    for _ in range(3000):  # far deeper than Python's recursion limit would allow
        y = y * 1.0001 + 0.5
    g = DotGraph(mg.viz.to_dot(y.sum(), max_nodes=100))
    assert len(g.nodes) == 100 + 1  # + the legend
    cut = [a["label"] for n, a in g.nodes.items() if "summary" in g.kind(n)]
    assert cut and "more nodes" in cut[0]


def test_without_scopes_there_are_no_clusters() -> None:
    loss, params = lstm_loss(3)
    g = DotGraph(mg.viz.to_dot(loss, params, group_by_scope=False))
    assert g.clusters == []
    assert sum("op" in g.kind(n) for n in g.nodes) > 30


def test_without_scopes_grad_norms_colour_the_state_ops() -> None:
    loss, params = small_tanh_rnn(6, scale=0.3)
    model = build_graph(loss, params, group_by_scope=False, show_grad_norms=True)
    coloured = [n for n in model.nodes.values() if n.fill is not None]
    assert len(coloured) == 6 and all(n.lines[0] == "Tanh" for n in coloured)
    assert len({n.fill for n in coloured}) > 3


def test_bidirectional_two_layer_lstm_has_a_cluster_per_direction_and_step() -> None:
    mg.manual_seed(1)
    lstm = mg.nn.LSTM(2, 2, num_layers=2, bidirectional=True)
    out, _ = lstm(mg.randn(3, 1, 2))
    # op level asked for: by default 12 steps of ~20 ops are drawn at the module level
    model = build_graph(out.sum(), dict(lstm.named_parameters()), detail="ops")
    step_paths = {p for p, c in model.clusters.items() if c.step is not None}
    assert step_paths == {f"lstm/l{k}/{d}/t{t}" for k in (0, 1) for d in ("fwd", "bwd")
                          for t in range(3)}
    recurrent = [e for e in model.edges if e.kind == "recurrent"]
    assert len(recurrent) == 2 * 2 * 2 * 2  # layers x directions x boundaries x (h, c)


def test_step_of_reads_the_innermost_step_scope() -> None:
    assert step_of("lstm/l0/fwd/t3") == ("lstm/l0/fwd/t3", "lstm/l0/fwd", 3)
    assert step_of("dec/step_12/attn") == ("dec/step_12", "dec", 12)
    assert step_of("encoder") is None and step_of("") is None


def test_a_freed_graph_raises_a_clear_error() -> None:
    loss, params = lstm_loss(3)
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        mg.viz.to_dot(loss, params)


def test_bad_arguments_are_rejected() -> None:
    loss, _ = lstm_loss(2)
    with pytest.raises(TypeError, match="Tensor"):
        mg.viz.to_dot(np.ones(3))
    with pytest.raises(ValueError, match="max_nodes"):
        mg.viz.to_dot(loss, max_nodes=0)
    with pytest.raises(ValueError, match="rankdir"):
        mg.viz.to_dot(loss, rankdir="diagonal")


def test_only_long_sequences_fold_and_each_keeps_its_own_summary() -> None:
    w = mg.tensor(np.eye(2) * 0.5, requires_grad=True)
    h = g = mg.ones(1, 2)
    with mg.name_scope("long"):
        for t in range(40):
            with mg.name_scope(f"t{t}"):
                h = (h @ w).tanh()
    with mg.name_scope("short"):
        for t in range(5):
            with mg.name_scope(f"t{t}"):
                g = (g @ w).tanh()
    model = build_graph((h + g).sum(), {"W": w}, max_nodes=60, keep_steps=2)
    assert model.folded == [("long", 2, 37)]
    short = sorted(c.step for p, c in model.clusters.items() if p.startswith("short/"))
    assert short == [0, 1, 2, 3, 4]
    order = [e for e in model.edges if e.kind == "order"]
    assert any(e.tail.startswith("s") for e in order) and any(e.head.startswith("s")
                                                               for e in order)
