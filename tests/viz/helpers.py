"""Shared builders for the graph-rendering tests: small models and a DOT reader."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pydot
import pyparsing
import pytest

import minigrad as mg

# pydot's grammar backtracks through nested subgraphs (time linear in 2**depth);
# packrat caching keeps parsing five-deep clusters fast.
pyparsing.ParserElement.enable_packrat()

requires_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot program is not installed"
)


def lstm_loss(steps: int, hidden: int = 2, seed: int = 0):
    """Loss = sum of all outputs of a one-layer LSTM over ``steps``; returns (loss, params)."""
    mg.manual_seed(seed)
    lstm = mg.nn.LSTM(2, hidden)
    out, _ = lstm(mg.randn(steps, 1, 2))
    return out.sum(), dict(lstm.named_parameters())


def small_tanh_rnn(steps: int, scale: float = 0.2, seed: int = 0):
    """A hand-written tanh RNN with small weights; loss from the last hidden state.

    Each step runs in ``name_scope("rnn")/name_scope(f"t{t}")``; the weights are used
    directly inside every step (no transpose hoisted out of the loop).
    """
    rng = np.random.default_rng(seed)
    w_xh = mg.tensor(rng.standard_normal((2, 4)) * scale, requires_grad=True)
    w_hh = mg.tensor(rng.standard_normal((4, 4)) * scale, requires_grad=True)
    b = mg.tensor(np.zeros(4), requires_grad=True)
    xs = mg.tensor(rng.standard_normal((steps, 1, 2)))
    h = mg.zeros(1, 4)
    with mg.name_scope("rnn"):
        for t in range(steps):
            with mg.name_scope(f"t{t}"):
                h = (xs[t] @ w_xh + h @ w_hh + b).tanh()
    return h.sum(), {"W_xh": w_xh, "W_hh": w_hh, "b": b}


def unquote(value: str | None) -> str:
    """A pydot attribute value as Graphviz reads it (quotes and escapes removed)."""
    if value is None:
        return ""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


class DotGraph:
    """A parsed DOT text: clusters (with their nodes, recursively), nodes and edges."""

    def __init__(self, text: str) -> None:
        graphs = pydot.graph_from_dot_data(text)
        assert graphs and len(graphs) == 1, "DOT text did not parse"
        self.graph = graphs[0]
        self.nodes: dict[str, dict[str, str]] = {}
        self.clusters: list[dict] = []  # {"label", "nodes" (incl. nested), "attrs"}
        self._walk(self.graph, [])
        self.edges = [
            (e.get_source(), e.get_destination(), unquote(e.get("class")))
            for e in self._all_edges(self.graph)
        ]

    def _walk(self, g: pydot.Graph, open_clusters: list[dict]) -> None:
        for n in g.get_nodes():
            name = n.get_name()
            if name in ("node", "edge", "graph"):
                continue
            self.nodes[name] = {k: unquote(v) for k, v in n.get_attributes().items()}
            for c in open_clusters:
                c["nodes"].append(name)
        for sub in g.get_subgraphs():
            attrs = {k: unquote(v) for k, v in sub.get_attributes().items()}
            cluster = {"name": sub.get_name(), "label": attrs.get("label", ""),
                       "attrs": attrs, "nodes": []}
            self.clusters.append(cluster)
            self._walk(sub, [*open_clusters, cluster])

    def _all_edges(self, g: pydot.Graph) -> list:
        out = list(g.get_edges())
        for sub in g.get_subgraphs():
            out.extend(self._all_edges(sub))
        return out

    def step_clusters(self) -> dict[int, dict]:
        """Clusters labelled ``t<k>`` (time steps), by step index."""
        out = {}
        for c in self.clusters:
            m = re.match(r"t(\d+)\b", c["label"])
            if m:
                out[int(m.group(1))] = c
        return out

    def kind(self, node: str) -> set[str]:
        return set(self.nodes[node].get("class", "").split())
