"""``CompiledCall.eager_outputs()``: the eager graph a compiled node stands for, on the
node's own inputs, in the scope it was made in (what pictures draw instead of the node)."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad.compile import CompiledCall


def _split_gates(h, state, w):
    a, b = mg.chunk(h @ w, 2, axis=-1)
    with mg.name_scope("gate"):
        c = a.sigmoid() * state[0] + b.tanh()
    return c.tanh(), c


@pytest.fixture
def call():
    rng = np.random.default_rng(0)
    w = mg.tensor(rng.standard_normal((3, 6)), requires_grad=True, dtype=np.float64)
    h = mg.tensor(rng.standard_normal((2, 3)), requires_grad=True, dtype=np.float64) * 1.0
    c0 = mg.tensor(rng.standard_normal((2, 3)), dtype=np.float64)
    step = mg.compile(_split_gates)
    step(h, (c0,), w)  # the first call traces
    with mg.name_scope("rnn"), mg.name_scope("t3"):
        outs = step(h, (c0,), w)
    return outs, (h, c0, w)


def test_outputs_align_with_the_node_and_have_its_numbers(call) -> None:
    outs, _ = call
    node = outs[0].grad_fn
    assert isinstance(node, CompiledCall) and outs[1].grad_fn is node
    eager = node.eager_outputs()
    assert len(eager) == node.n_out == 2
    for k, (o, e) in enumerate(zip(outs, eager)):
        assert o._out_idx == k
        np.testing.assert_allclose(e.numpy(), o.numpy(), rtol=1e-12, atol=1e-12)
        assert e.requires_grad and not isinstance(e.grad_fn, CompiledCall)


def test_the_eager_ops_are_recorded_in_the_node_scope_and_deeper(call) -> None:
    outs, _ = call
    with mg.name_scope("elsewhere"), mg.no_grad():  # neither changes the rerun
        eager = outs[0].grad_fn.eager_outputs()
    scopes, stack, seen = set(), [e.grad_fn for e in eager], set()
    while stack:
        fn = stack.pop()
        if fn in seen or fn.scope.split("/")[:2] != ["rnn", "t3"]:
            continue
        seen.add(fn)
        scopes.add(fn.scope)
        stack.extend(e[0] for e in fn.next if e is not None and isinstance(e[0], mg.autograd.Function))
    assert scopes == {"rnn/t3", "rnn/t3/gate"}
    assert {f.name for f in seen} >= {"MatMul", "Sigmoid", "Tanh", "Mul", "Add"}


def test_the_rerun_reads_the_node_own_input_tensors(call) -> None:
    outs, (h, _, w) = call
    eager = outs[0].grad_fn.eager_outputs()
    # the gradient through the eager graph reaches the same upstream node and leaf
    gh, gw = mg.autograd.grad(eager[0].sum(), [h, w], retain_graph=True)
    ch, cw = mg.autograd.grad(outs[0].sum(), [h, w])
    np.testing.assert_allclose(gh.numpy(), ch.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gw.numpy(), cw.numpy(), rtol=1e-12)
    matmul = eager[1].grad_fn
    while matmul.name != "MatMul":
        matmul = next(e[0] for e in matmul.next if e is not None)
    assert matmul.next[0][0] is h.grad_fn and matmul.next[1][0] is w


def test_a_freed_node_says_so(call) -> None:
    outs, _ = call
    node = outs[0].grad_fn
    (outs[0].sum() + outs[1].sum()).backward()
    with pytest.raises(RuntimeError, match="freed"):
        node.eager_outputs()
