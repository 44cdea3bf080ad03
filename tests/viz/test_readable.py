"""Readable by default: a real language model, module names, levels of detail, hover text."""

from __future__ import annotations

import re
import struct
import subprocess

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.viz.options import READABLE_STEPS

from .helpers import DotGraph, lstm_loss, requires_dot

MODULES = ("encoder (Embedding)", "drop (Dropout)", "rnn (LSTM)", "decoder (Linear)")


class WordLanguageModel(mg.nn.Module):
    """PyTorch's word-language-model: embedding, dropout, 2-layer LSTM, linear decoder."""

    def __init__(self, ntoken: int = 50, ninp: int = 16, nhid: int = 16) -> None:
        super().__init__()
        self.ntoken = ntoken
        self.encoder = mg.nn.Embedding(ntoken, ninp)
        self.drop = mg.nn.Dropout(0.2)
        self.rnn = mg.nn.LSTM(ninp, nhid, 2, dropout=0.2)
        self.decoder = mg.nn.Linear(nhid, ntoken)

    def forward(self, x: mg.Tensor) -> mg.Tensor:
        out, _ = self.rnn(self.drop(self.encoder(x)))
        return self.decoder(self.drop(out)).reshape(-1, self.ntoken)


def language_model_loss(steps: int = 35, batch: int = 4):
    """One bptt window of the word language model; returns (loss, params)."""
    mg.manual_seed(0)
    model = WordLanguageModel()
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.integers(0, 50, (steps, batch)))
    y = mg.tensor(rng.integers(0, 50, (steps * batch,)))
    return F.cross_entropy(model(x), y), dict(model.named_parameters())


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@requires_dot
def test_the_language_model_renders_readably_with_defaults(tmp_path) -> None:
    loss, params = language_model_loss()
    png = mg.viz.render_to_file(loss, tmp_path / "lm.png", params)
    width, height = png_size(png.read_bytes())
    # fits a scrolling page at Graphviz's natural size (9 pt labels at 96 dpi), not the
    # 32,767 x 294 px strip of one row of 70 steps
    assert 1000 < width <= 6000 and 300 < height <= 3000, (width, height)
    assert 1 / 4 <= width / height <= 5, (width, height)
    svg = mg.viz.render_to_file(loss, tmp_path / "lm.svg", params).read_text()
    text = svg.replace("&#160;", " ")
    for name in (*MODULES, "cross_entropy", "t0", "t34"):
        assert f">{name}<" in text, name
    # the same DOT laid out by Graphviz: no shrinking was needed (scale 1)
    plain = subprocess.run(["dot", "-Tplain"], input=mg.viz.to_dot(loss, params).encode(),
                           capture_output=True, check=True).stdout.decode()
    assert plain.split()[1] == "1"


def test_the_language_model_is_drawn_at_the_module_level_with_both_layers_folded() -> None:
    loss, params = language_model_loss()
    model = mg.viz.build_graph(loss, params)
    assert model.detail == "modules" and model.notes
    labels = {line for n in model.nodes.values() for line in n.lines}
    labels |= {c.label for c in model.clusters.values()}
    for name in (*MODULES, "cross_entropy"):
        assert name in labels, name
    steps = [c for c in model.clusters.values() if c.step is not None]
    assert len(steps) <= READABLE_STEPS
    assert sorted(model.folded) == [("rnn (LSTM)/lstm/l0/fwd", 3, 31),
                                    ("rnn (LSTM)/lstm/l1/fwd", 3, 31)]
    # one node per time step: each step cluster holds one op node (and its references)
    for c in steps:
        assert [model.nodes[n].lines[0] for n in c.nodes if model.nodes[n].kind == "op"] == ["step"]


def test_the_op_level_is_drawn_on_request_and_the_asked_step_is_kept() -> None:
    loss, params = language_model_loss()
    model = mg.viz.build_graph(loss, params, detail="ops", focus_step=17)
    assert model.detail == "ops"
    kept = {c.step for c in model.clusters.values() if c.step is not None}
    assert 17 in kept and 0 in kept and 34 in kept
    # two sequences x (2 + 2 + the asked one) = 10 steps within the budget of 12
    assert sorted(model.folded) == [(f"rnn (LSTM)/lstm/l{k}/fwd", a, b)
                                    for k in (0, 1) for a, b in ((2, 16), (18, 32))]
    ops = [n.lines[0] for n in model.nodes.values() if n.kind == "op"]
    assert "Sigmoid" in ops and "cross_entropy" in ops


def test_the_next_layer_starts_a_new_row() -> None:
    loss, params = language_model_loss()
    text = mg.viz.to_dot(loss, params)
    loose = re.findall(r"^\s+(\w+) -> (\w+) \[.*constraint=false", text, re.M)
    assert loose, "no edge between the two LSTM layers was freed from ranking"
    model = mg.viz.build_graph(loss, params)
    for tail, head in loose:
        assert "/l0" in model.nodes[tail].cluster and "/l1" in model.nodes[head].cluster


def test_cross_entropy_is_one_node_unless_expanded() -> None:
    logits = mg.randn(4, 5, requires_grad=True)
    loss = F.cross_entropy(logits, mg.tensor(np.array([0, 1, 2, 3])))
    folded = mg.viz.build_graph(loss, {"logits": logits})
    ops = [n for n in folded.nodes.values() if n.kind == "op"]
    assert [n.lines[0] for n in ops] == ["cross_entropy"] and ops[0].is_root
    recorded = sum(1 for _ in _functions(loss))
    full = mg.viz.build_graph(loss, {"logits": logits}, expand=True)
    assert _drawn_ops(full) == recorded > 3
    # expanding the outer call leaves the inner composite (log_softmax) folded
    outer = mg.viz.build_graph(loss, {"logits": logits}, expand=["cross_entropy"])
    assert 1 < _drawn_ops(outer) < recorded
    assert folded.n_ops == full.n_ops == outer.n_ops == recorded  # n_ops: all recorded
    assert "log_softmax" in {n.lines[0] for n in outer.nodes.values()}


def _drawn_ops(model) -> int:
    return sum(n.kind == "op" for n in model.nodes.values())


def _functions(root: mg.Tensor):
    seen, stack = set(), [root.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen or not hasattr(fn, "next"):
            continue
        seen.add(id(fn))
        yield fn
        stack.extend(e[0] for e in fn.next if e is not None)


def test_a_module_called_twice_gets_a_cluster_per_call() -> None:
    loss, params = language_model_loss(steps=3)
    g = DotGraph(mg.viz.to_dot(loss, params, detail="ops"))
    drops = [c for c in g.clusters if c["label"] == "drop (Dropout)"]
    assert len(drops) == 2 and not set(drops[0]["nodes"]) & set(drops[1]["nodes"])


def test_tooltips_give_shape_dtype_scope_and_gradient_norm() -> None:
    a = mg.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    b = mg.tensor(np.arange(3, dtype=np.float32), requires_grad=True)
    with mg.name_scope("layer"):
        loss = (a * b).sum()
    g = DotGraph(mg.viz.to_dot(loss, {"a": a, "b": b}, show_grad_norms=True))
    tips = {n["label"].split("\n")[0]: n.get("tooltip", "") for n in g.nodes.values()}
    # d loss / d (a * b) is ones(3): norm sqrt(3); d loss / d loss is 1
    assert tips["Mul"] == "Mul\nshape (3,)\ndtype float32\nscope layer\n|grad| 1.732e+00"
    assert tips["Sum"].endswith("|grad| 1.000e+00")
    assert tips["a"] == "a\nshape (3,)\ndtype float32"


@requires_dot
def test_svg_carries_the_tooltips_and_jupyter_shows_the_picture() -> None:
    loss, params = lstm_loss(3)
    picture = mg.viz.show(loss, params)
    bundle = picture._repr_mimebundle_()
    svg = bundle["image/svg+xml"]
    assert "</svg>" in svg and picture._repr_svg_() == svg
    assert re.search(r'xlink:title="Sigmoid&#10;shape \(1, 2\)&#10;dtype float32&#10;'
                     r'scope lstm/l0/fwd/t\d', svg)


@requires_dot
def test_a_png_past_graphvizs_limit_is_drawn_smaller_with_a_warning(tmp_path) -> None:
    loss, params = lstm_loss(200)
    with pytest.warns(mg.viz.GraphTooLargeWarning, match="dpi instead of 96"):
        path = mg.viz.render_to_file(loss, tmp_path / "wide.png", params, max_nodes=10_000)
    assert max(png_size(path.read_bytes())) <= 32767


def test_unknown_options_are_refused_naming_the_function() -> None:
    loss, params = lstm_loss(2)
    with pytest.raises(TypeError, match=r"to_dot: unknown option 'max_node'"):
        mg.viz.to_dot(loss, params, max_node=3)
    with pytest.raises(ValueError, match=r"build_graph: detail must be one of auto, ops"):
        mg.viz.build_graph(loss, params, detail="layers")


@requires_dot
def test_a_note_sits_beside_the_op_it_feeds_so_recurrent_edges_cannot_cross_it() -> None:
    import json

    loss, params = lstm_loss(3)
    text = mg.viz.to_dot(loss, params, rankdir="TB")
    layout = json.loads(subprocess.run(["dot", "-Tjson"], input=text.encode(),
                                       capture_output=True, check=True).stdout)
    objects = layout["objects"]
    by_gvid = {o["_gvid"]: o for o in objects if "pos" in o}
    beside = []
    for edge in layout.get("edges", []):
        tail, head = by_gvid.get(edge["tail"]), by_gvid.get(edge["head"])
        if tail is None or head is None or "Transpose(weight_hh" not in tail.get("label", ""):
            continue
        assert head.get("label", "").startswith("MatMul")  # the note feeds the step's MatMul
        beside.append(tail["pos"].split(",")[1] == head["pos"].split(",")[1])
    # steps 1 and 2 take h from the step before: their note is on the MatMul's rank
    # (step 0 starts from zeros, no red edge arrives there)
    assert sorted(beside) == [False, True, True]


def test_nested_modules_give_one_cluster_per_layer_with_its_sublayers_inside() -> None:
    class Layer(mg.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear1 = mg.nn.Linear(4, 4)
            self.norm = mg.nn.LayerNorm(4)

        def forward(self, x: mg.Tensor) -> mg.Tensor:
            return self.norm(x + self.linear1(x).tanh())

    class Encoder(mg.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = mg.nn.ModuleList([Layer(), Layer()])

        def forward(self, x: mg.Tensor) -> mg.Tensor:
            for layer in self.layers:
                x = layer(x)
            return x

    mg.manual_seed(0)
    loss = Encoder()(mg.randn(3, 4)).sum()
    model = mg.viz.build_graph(loss, detail="modules")
    for k in (0, 1):
        inside = {model.nodes[n].lines[0] for n in model.clusters[f"layers.{k} (Layer)"].nodes}
        # the sublayers, and the layer's own residual add beside them
        assert inside == {"linear1 (Linear)", "norm (LayerNorm)", f"layers.{k} (Layer)"}
    ops = mg.viz.build_graph(loss, detail="ops")
    assert "layers.0 (Layer)/norm (LayerNorm)" in ops.clusters
    assert "layer_norm" in {n.lines[0] for n in ops.nodes.values()}


def test_gradient_norms_and_tooltips_on_every_device(device: str) -> None:
    mg.manual_seed(0)
    lstm = mg.nn.LSTM(2, 3).to(device)
    out, _ = lstm(mg.randn(4, 1, 2, device=device))
    loss = out.sum()
    model = mg.viz.build_graph(loss, dict(lstm.named_parameters()), show_grad_norms=True)
    norms = [model.step_norms[f"lstm/l0/fwd/t{t}"] for t in range(4)]
    assert all(v > 0 for v in norms)
    loss.backward(retain_graph=True)
    tips = [n.tooltip for n in model.nodes.values() if n.is_root]
    assert tips and "|grad| 1.000e+00" in tips[0] and "dtype float32" in tips[0]
