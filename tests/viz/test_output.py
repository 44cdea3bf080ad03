"""Determinism, escaping, real rendering with Graphviz, draw_graph and render_to_file."""

from __future__ import annotations

import re
import time
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad.viz import render

from .helpers import DotGraph, lstm_loss, requires_dot, small_tanh_rnn

NASTY = 'w<1>{a|b}"q"\\n\\'  # every DOT/record/HTML metacharacter, a fake escape, a backslash


def test_the_same_graph_gives_byte_identical_dot() -> None:
    first, params = lstm_loss(5, seed=7)
    second, params2 = lstm_loss(5, seed=7)
    a = mg.viz.to_dot(first, params, show_grad_norms=True)
    assert a == mg.viz.to_dot(first, params, show_grad_norms=True)
    assert a == mg.viz.to_dot(second, params2, show_grad_norms=True)
    assert "0x" not in a  # no id()-derived names


def test_names_with_metacharacters_are_escaped() -> None:
    w = mg.tensor(np.ones((2, 2)), requires_grad=True)
    with mg.name_scope('scope "x" <y> {z}|\\'):
        out = (w @ w).sum()
    text = mg.viz.to_dot(out, {NASTY: w})
    g = DotGraph(text)
    labels = [a.get("label") for a in g.nodes.values()]
    assert f"{NASTY}\n(2, 2)" in labels
    assert any(c["label"] == 'scope "x" <y> {z}|\\' for c in g.clusters)


@requires_dot
def test_escaped_names_render_literally_in_svg(tmp_path) -> None:
    w = mg.tensor(np.ones((2, 2)), requires_grad=True)
    out = (w @ w).sum()
    path = mg.viz.render_to_file(out, tmp_path / "nasty.svg", params={NASTY: w})
    svg = path.read_text()
    assert "w&lt;1&gt;{a|b}&quot;q&quot;\\n\\" in svg


@requires_dot
@pytest.mark.parametrize("steps", [50, 1000])
def test_lstm_renders_to_svg_quickly(tmp_path, steps: int) -> None:
    loss, params = lstm_loss(steps, hidden=2)
    start = time.perf_counter()
    path = mg.viz.render_to_file(loss, tmp_path / f"lstm{steps}.svg", params=params)
    elapsed = time.perf_counter() - start
    svg = path.read_text()
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    assert f">t{steps - 1}" in svg and ">t0" in svg
    if steps == 1000:
        assert "steps folded" in svg
    assert elapsed < 10, f"{steps} steps took {elapsed:.1f} s"


def test_draw_graph_returns_a_digraph_with_the_same_statements() -> None:
    graphviz = pytest.importorskip("graphviz")
    loss, params = lstm_loss(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mg.viz.GraphvizMissingWarning)
        g = mg.viz.draw_graph(loss, params)
    assert isinstance(g, graphviz.Digraph)
    text = mg.viz.to_dot(loss, params)
    body = [line for line in text.splitlines()[4:-1]]
    assert [line.rstrip("\n") for line in g.body] == body
    DotGraph(g.source)  # parses


def test_without_dot_draw_graph_warns_and_render_falls_back_to_dot(tmp_path, monkeypatch) -> None:
    pytest.importorskip("graphviz")
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    loss, params = small_tanh_rnn(3)
    with pytest.warns(mg.viz.GraphvizMissingWarning, match="apt install graphviz"):
        g = mg.viz.draw_graph(loss, params)
    assert "cluster_" in g.source
    with pytest.warns(mg.viz.GraphvizMissingWarning, match="instead of"):
        path = mg.viz.render_to_file(loss, tmp_path / "graph.svg", params=params)
    assert path.suffix == ".dot" and path.read_text().startswith("digraph minigrad {")
    assert not (tmp_path / "graph.svg").exists()


def test_render_to_file_writes_dot_without_graphviz_and_rejects_unknown_formats(tmp_path) -> None:
    loss, params = small_tanh_rnn(2)
    path = mg.viz.render_to_file(loss, tmp_path / "sub" / "g.dot", params=params)
    assert path.read_text() == mg.viz.to_dot(loss, params)
    with pytest.raises(ValueError, match=".svg"):
        mg.viz.render_to_file(loss, tmp_path / "g.jpeg")


@requires_dot
@pytest.mark.parametrize("fmt", ["png", "pdf"])
def test_render_to_file_picks_the_format_from_the_extension(tmp_path, fmt: str) -> None:
    loss, params = small_tanh_rnn(2)
    path = mg.viz.render_to_file(loss, tmp_path / f"g.{fmt}", params=params)
    magic = {"png": b"\x89PNG", "pdf": b"%PDF"}[fmt]
    assert path.read_bytes().startswith(magic)


def test_dot_output_is_valid_for_graphviz_keywords_in_names() -> None:
    w = mg.tensor(np.ones(2), requires_grad=True)
    out = (w * w).sum()
    text = mg.viz.to_dot(out, {"subgraph": w, "node": w})
    assert re.search(r'label="(subgraph|node)\\n\(2,\)"', text)


@requires_dot
def test_steps_are_laid_out_left_to_right_in_time_in_both_directions() -> None:
    import json
    import subprocess

    mg.manual_seed(2)
    lstm = mg.nn.LSTM(2, 2, bidirectional=True)
    out, _ = lstm(mg.randn(4, 1, 2))
    text = mg.viz.to_dot(out.sum(), dict(lstm.named_parameters()))
    layout = json.loads(subprocess.run(["dot", "-Tjson"], input=text.encode(),
                                       capture_output=True, check=True).stdout)
    boxes: dict[str, list[tuple[int, float, float]]] = {}
    # clusters are written parent first, so the direction precedes its steps
    direction = None
    for obj in layout["objects"]:
        label = obj.get("label", "")
        if label in ("fwd", "bwd"):
            direction = label
        found = re.match(r"t(\d+)\b", label)
        if found and "bb" in obj:
            x0, _, x1, _ = map(float, obj["bb"].split(","))
            boxes.setdefault(direction, []).append((int(found.group(1)), x0, x1))
    assert set(boxes) == {"fwd", "bwd"}
    for direction, items in boxes.items():
        items.sort()
        assert [t for t, _, _ in items] == [0, 1, 2, 3]
        for (_, _, right), (_, left, _) in zip(items, items[1:]):
            assert right <= left, (direction, items)  # side by side, never overlapping


def test_dot_is_identical_across_processes_with_different_hash_seeds() -> None:
    import hashlib
    import os
    import subprocess
    import sys

    code = (
        "import hashlib, minigrad as mg\n"
        "mg.manual_seed(3)\n"
        "m = mg.nn.GRU(2, 2, num_layers=2, bidirectional=True)\n"
        "out, _ = m(mg.randn(40, 1, 2))\n"
        "loss = out.sum(); loss.backward(retain_graph=True)\n"
        "text = mg.viz.to_dot(loss, dict(m.named_parameters()), show_grad_norms=True,"
        " max_nodes=400)\n"
        "print(hashlib.sha256(text.encode()).hexdigest())\n"
    )
    digests = set()
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                text=True, check=True)
        digests.add(result.stdout.strip())
    assert len(digests) == 1
    assert hashlib.sha256(b"").hexdigest() not in digests
