"""Differential tests of the engine on random graphs with heavy reuse.

Hypothesis draws the structure of a graph (5-30 ops over 2-5 leaves, operands picked
from every earlier value, so leaves and intermediates are reused many times); a seed
it draws gives the values. Each graph is checked three independent ways:
``.backward()`` into ``.grad``, ``autograd.grad``, and float64 central differences on
the plain forward. ``retain_grad()`` intermediates and second derivatives
(``create_graph=True``) are checked the same way.

The ops cover every family: elementwise with broadcasting, reductions, matmul,
indexing with repeated indices, cat/split/stack, where, and the composed softmax family.
Values stay in a moderate range (squashing ops, denominators kept away from zero) and
ties are improbable (values are continuous random draws), so central differences are
a fair reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import minigrad as mg

N = 3  # every value is (3, 3), (3,), (3, 1), (1, 3) or (): square, so any two combine
SHAPES = [(N, N), (N,), (N, 1), (1, N), ()]


def _ops() -> dict[str, tuple[int, Callable]]:
    """name -> (arity, fn(rng-derived constants, *tensors) -> tensor)."""

    def matmul(c, a, b):
        # operands as (3, 3) or (3,): matrix-matrix, matrix-vector, vector-vector
        return _square_or_vector(a) @ _square_or_vector(b)

    def getitem_repeats(c, a):
        a = _at_least_1d(a)
        return a[mg.tensor(c["index"] % a.shape[0])]  # repeated indices: gradients add up

    def cat_slices(c, a, b):
        a, b = mg.broadcast_to(a, (N, N)), mg.broadcast_to(b, (N, N))
        return mg.cat([a[1:], b[:1]], axis=0)

    def split_swap(c, a):
        a = mg.broadcast_to(a, (N, N))
        top, bottom = mg.split(a, [1, N - 1], axis=c["axis"])
        return mg.cat([bottom, top * 2.0], axis=c["axis"])

    def stack_reduce(c, a, b):
        u, v = a + b, a * b
        s = mg.stack([u, v], axis=0)
        return s.sum(0) if c["flag"] else s[1] - s.max(0)

    def where(c, a, b):
        shape = np.broadcast_shapes(a.shape, b.shape)
        cond = c["mask"][: int(np.prod(shape))].reshape(shape)  # a prefix of N*N booleans
        return mg.where(mg.tensor(cond), a, b)

    def reduce(c, a, kind):
        a = _at_least_1d(a)
        axis = c["axis"] % a.ndim
        out = getattr(a, kind)(axis, keepdims=c["flag"])
        return out

    return {
        "add": (2, lambda c, a, b: a + b),
        "sub": (2, lambda c, a, b: a - b),
        "mul": (2, lambda c, a, b: a * b),
        "div": (2, lambda c, a, b: a / (b * b + 1.0)),
        # residual connections: one operand reaches the sum by two routes
        "residual": (2, lambda c, a, b: (a + b) + a),
        "skip": (2, lambda c, a, b: a - (b - a) * c["scalar"]),
        "scale": (1, lambda c, a: a * c["scalar"] + 0.5),
        "tanh": (1, lambda c, a: a.tanh()),
        "sigmoid": (1, lambda c, a: a.sigmoid()),
        "exp": (1, lambda c, a: (a.tanh() * 2.0).exp()),
        "log": (1, lambda c, a: (a * a + 1.0).log()),
        "square": (1, lambda c, a: a**2),
        "pow": (2, lambda c, a, b: (a * a + 0.5) ** b.tanh()),
        "maximum": (2, lambda c, a, b: mg.maximum(a, b)),
        "sum": (1, lambda c, a: reduce(c, a, "sum")),
        "mean": (1, lambda c, a: reduce(c, a, "mean")),
        "max": (1, lambda c, a: reduce(c, a, "max")),
        "matmul": (2, matmul),
        "getitem": (1, getitem_repeats),
        "cat": (2, cat_slices),
        "split": (1, split_swap),
        "stack": (2, stack_reduce),
        "where": (2, where),
        "transpose": (1, lambda c, a: a.T),
        "reshape": (1, lambda c, a: a.reshape(-1).reshape(a.shape)),
        "softmax": (1, lambda c, a: _at_least_1d(a).softmax(-1)),
        "log_softmax": (1, lambda c, a: _at_least_1d(a).log_softmax(-1)),
        "logsumexp": (1, lambda c, a: mg.logsumexp(_at_least_1d(a), -1, keepdims=c["flag"])),
    }


def _at_least_1d(a: mg.Tensor) -> mg.Tensor:
    return a.reshape(1) if a.ndim == 0 else a


def _square_or_vector(a: mg.Tensor) -> mg.Tensor:
    if a.shape in ((N, N), (N,)):
        return a
    return mg.broadcast_to(a, (N, N))


OPS = _ops()


@dataclass
class Node:
    op: str
    args: tuple[int, ...]  # indices into the list of values (leaves first)
    consts: dict


@dataclass
class Graph:
    leaf_shapes: list[tuple[int, ...]]
    nodes: list[Node]
    outputs: list[int]  # values summed (with random weights) into the scalar loss
    seed: int

    def leaves(self) -> list[mg.Tensor]:
        rng = np.random.default_rng(self.seed)
        return [mg.tensor(rng.uniform(-1.5, 1.5, s), dtype=np.float64, requires_grad=True)
                for s in self.leaf_shapes]

    def values(self, leaves: list[mg.Tensor]) -> list[mg.Tensor]:
        vals = list(leaves)
        for node in self.nodes:
            vals.append(OPS[node.op][1](node.consts, *(vals[i] for i in node.args)))
        return vals

    def loss(self, vals: list[mg.Tensor]) -> mg.Tensor:
        rng = np.random.default_rng(self.seed + 1)
        total = None
        for i in self.outputs:
            w = mg.tensor(rng.uniform(0.5, 1.5, vals[i].shape), dtype=np.float64)
            term = (vals[i] * w).sum()
            total = term if total is None else total + term
        return total


@st.composite
def graphs(draw: st.DrawFn, min_ops: int = 5, max_ops: int = 30) -> Graph:
    n_leaves = draw(st.integers(2, 5))
    # mostly full (3, 3) leaves: equal shapes make add/sub pass one gradient Tensor to
    # several places at once, the case that corrupted leaf gradients before
    leaf_shapes = [draw(st.sampled_from(SHAPES[:1] * 4 + SHAPES)) for _ in range(n_leaves)]
    n_ops = draw(st.integers(min_ops, max_ops))
    names = sorted(OPS) + ["add", "add", "add", "sub", "mul", "mul", "reshape", "transpose"]
    nodes = []
    for k in range(n_ops):
        name = draw(st.sampled_from(names))
        arity = OPS[name][0]
        available = n_leaves + k
        # half the operands are leaves: heavy reuse of the same few tensors
        args = tuple(
            draw(st.one_of(st.integers(0, n_leaves - 1), st.integers(0, available - 1)))
            for _ in range(arity)
        )
        crng = np.random.default_rng(draw(st.integers(0, 2**31)))
        consts = {
            "index": crng.integers(0, N, N),
            "axis": int(crng.integers(0, 2)),
            "flag": bool(crng.integers(0, 2)),
            "scalar": float(crng.uniform(-1.5, 1.5)),
            "mask": crng.random(N * N) < 0.5,
        }
        nodes.append(Node(name, args, consts))
    # the loss reads every value no later op consumed, so no op is dead code
    used = {i for node in nodes for i in node.args}
    outputs = [i for i in range(n_leaves, n_leaves + n_ops) if i not in used]
    return Graph(leaf_shapes, nodes, outputs, draw(st.integers(0, 2**31)))


def _build(graph: Graph) -> tuple[list[mg.Tensor], list[mg.Tensor], mg.Tensor]:
    leaves = graph.leaves()
    vals = graph.values(leaves)
    return leaves, vals, graph.loss(vals)


def _tame(graph: Graph) -> None:
    """Skip graphs whose values leave the range where central differences are exact
    enough, or that hit a tie of max/maximum (a kink)."""
    with mg.no_grad():
        _, vals, loss = _build(graph)
    for v in vals:
        assume(np.all(np.isfinite(v.numpy())) and np.abs(v.numpy()).max(initial=0) < 1e3)
    for node in graph.nodes:
        if node.op in ("max", "maximum", "stack"):
            a = vals[node.args[0]].numpy()
            b = vals[node.args[-1]].numpy()
            assume(not _near_tie(node, a, b))


def _near_tie(node: Node, a: np.ndarray, b: np.ndarray) -> bool:
    """Whether a max/maximum in ``node`` compares two values closer than 1e-4."""
    if node.op == "maximum":
        return bool(np.any(np.abs(np.subtract(a, b)) < 1e-4))
    if node.op == "stack":  # s.max(0) over (a + b, a * b)
        return bool(np.any(np.abs(a + b - a * b) < 1e-4))
    a = np.atleast_1d(a)
    axis = node.consts["axis"] % a.ndim
    gaps = np.diff(np.sort(a, axis=axis), axis=axis)
    return bool(np.any(np.abs(gaps) < 1e-4))


def _numeric_grads(graph: Graph, eps: float = 1e-6) -> list[np.ndarray]:
    base = [t.numpy().copy() for t in graph.leaves()]
    grads = []
    with mg.no_grad():
        for k, x in enumerate(base):
            g = np.zeros_like(x)
            for idx in np.ndindex(x.shape):
                vals = []
                for sign in (1.0, -1.0):
                    moved = [b.copy() for b in base]
                    moved[k][idx] += sign * eps
                    leaves = [mg.tensor(m, dtype=np.float64) for m in moved]
                    vals.append(graph.loss(graph.values(leaves)).item())
                g[idx] = (vals[0] - vals[1]) / (2 * eps)
            grads.append(g)
    return grads


def _close(got: np.ndarray, want: np.ndarray, what: str, rtol: float, atol: float) -> None:
    scale = 1.0 + np.abs(want).max(initial=0.0)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol * scale, err_msg=what)


PROPERTY = settings(max_examples=500, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@PROPERTY
@given(graph=graphs())
def test_backward_equals_grad_equals_central_differences(graph: Graph) -> None:
    _tame(graph)
    leaves, _, loss = _build(graph)
    loss.backward()
    via_backward = [np.zeros(t.shape) if t.grad is None else t.grad.numpy() for t in leaves]

    leaves2, _, loss2 = _build(graph)
    via_grad = mg.autograd.grad(loss2, leaves2, allow_unused=True)
    via_grad = [np.zeros(t.shape) if g is None else g.numpy() for t, g in zip(leaves2, via_grad)]

    numeric = _numeric_grads(graph)
    for i, (b, g, n) in enumerate(zip(via_backward, via_grad, numeric)):
        _close(b, g, f"leaf {i}: .backward() vs autograd.grad", rtol=1e-12, atol=1e-12)
        _close(b, n, f"leaf {i}: .backward() vs central differences", rtol=1e-5, atol=1e-6)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(graph=graphs(), data=st.data())
def test_retain_grad_intermediates_match_autograd_grad(graph: Graph, data: st.DataObject) -> None:
    _tame(graph)
    n_leaves = len(graph.leaf_shapes)
    picks = data.draw(st.lists(st.integers(n_leaves, n_leaves + len(graph.nodes) - 1),
                               min_size=1, max_size=4, unique=True))
    # autograd.grad on a graph of its own: like PyTorch's, it also fills retained .grad
    leaves2, vals2, loss2 = _build(graph)
    expected = mg.autograd.grad(loss2, [vals2[i] for i in picks] + leaves2, allow_unused=True)
    leaves, vals, loss = _build(graph)
    for i in picks:
        vals[i].retain_grad()
    loss.backward()
    for j, i in enumerate(picks):
        want = np.zeros(vals[i].shape) if expected[j] is None else expected[j].numpy()
        got = np.zeros(vals[i].shape) if vals[i].grad is None else vals[i].grad.numpy()
        _close(got, want, f"retained value {i}", rtol=1e-12, atol=1e-12)
    for k, t in enumerate(leaves):
        g = expected[len(picks) + k]
        want = np.zeros(t.shape) if g is None else g.numpy()
        got = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        _close(got, want, f"leaf {k} with retained intermediates", rtol=1e-12, atol=1e-12)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(graph=graphs(max_ops=15))
def test_second_derivatives_three_ways(graph: Graph) -> None:
    """Hessian-vector products: ``autograd.grad`` of ``<grad, v>`` with create_graph,
    the same through ``.backward(create_graph=True)``, and central differences of the
    first gradient."""
    _tame(graph)
    rng = np.random.default_rng(graph.seed + 2)
    directions = [rng.uniform(-1, 1, s) for s in graph.leaf_shapes]

    def grad_dot_v(leaves: list[mg.Tensor], create_graph: bool) -> mg.Tensor:
        loss = graph.loss(graph.values(leaves))
        gs = mg.autograd.grad(loss, leaves, create_graph=create_graph, allow_unused=True)
        total = mg.tensor(0.0, dtype=np.float64)
        for g, v in zip(gs, directions):
            if g is not None:
                total = total + (g * mg.tensor(v, dtype=np.float64)).sum()
        return total

    leaves = graph.leaves()
    hv = grad_dot_v(leaves, True)
    assume(hv.requires_grad)  # a graph linear in every leaf has no second derivative
    via_grad = mg.autograd.grad(hv, leaves, allow_unused=True)

    leaves2 = graph.leaves()
    loss2 = graph.loss(graph.values(leaves2))
    loss2.backward(create_graph=True)
    total = None
    for t, v in zip(leaves2, directions):
        if t.grad is not None and t.grad.requires_grad:
            term = (t.grad * mg.tensor(v, dtype=np.float64)).sum()
            total = term if total is None else total + term
    for t in leaves2:
        t.grad = None
    total.backward()

    eps = 1e-5
    base = [t.numpy().copy() for t in graph.leaves()]
    for k, x in enumerate(base):
        numeric = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            out = []
            for sign in (1.0, -1.0):
                moved = [b.copy() for b in base]
                moved[k][idx] += sign * eps
                out.append(grad_dot_v([mg.tensor(m, dtype=np.float64, requires_grad=True)
                                       for m in moved], False).item())
            numeric[idx] = (out[0] - out[1]) / (2 * eps)
        g = via_grad[k]
        analytic = np.zeros(x.shape) if g is None else g.numpy()
        backward = np.zeros(x.shape) if leaves2[k].grad is None else leaves2[k].grad.numpy()
        _close(backward, analytic, f"leaf {k}: backward(create_graph) vs autograd.grad",
               rtol=1e-10, atol=1e-10)
        _close(analytic, numeric, f"leaf {k}: second derivative vs central differences",
               rtol=1e-4, atol=1e-5)
