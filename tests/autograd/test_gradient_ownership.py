"""The engine's ownership rule, pinned by the cases that broke it.

One gradient Tensor often reaches several places at once (``a + b`` sends the same
Tensor to ``a`` and ``b``). The engine may add in place only into arrays it allocated
and nobody else can see; every ``.grad`` it hands out is an array of its own.
"""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg


def leaf(values, dtype=np.float64) -> mg.Tensor:
    return mg.tensor(np.asarray(values, dtype=dtype), dtype=dtype, requires_grad=True)


def test_one_gradient_reaching_two_leaves_is_not_added_twice() -> None:
    # issue 10, case 1: b.grad was [2, 0]; PyTorch and autograd.grad give [1, 0]
    a, b = leaf([0.1, 0.2], np.float32), leaf([0.3, -0.4], np.float32)
    ((a + b + a) ** 2).sum().backward()
    s = 2 * 0.1 + 0.3, 2 * 0.2 - 0.4  # a + b + a
    np.testing.assert_allclose(b.grad.numpy(), [2 * s[0], 2 * s[1]], atol=1e-6)
    np.testing.assert_allclose(a.grad.numpy(), [4 * s[0], 4 * s[1]], atol=1e-6)


def test_tanh_reused_through_two_sums() -> None:
    # issue 10, case 2: a.grad was [7.078, 3.780]; it is 6 * (1 - tanh(a) ** 2)
    a, b = leaf([0.5, -1.0], np.float32), leaf([3.0, 4.0], np.float32)
    n = a.tanh()
    (n * 2.0 + b * 3.0 + (n + b) * 4.0).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 6 * (1 - np.tanh([0.5, -1.0]) ** 2), rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), [7.0, 7.0])


def test_embedding_with_positional_table_and_summed_losses() -> None:
    """The realistic case of issue 10: token embedding + learned positions, loss written
    as ``aux + l2 + main``; ``.backward()`` must match ``autograd.grad``."""
    rng = np.random.default_rng(0)
    tokens = mg.tensor(rng.integers(0, 7, (4, 5)))

    def loss_of(emb: mg.Tensor, pos: mg.Tensor, w: mg.Tensor) -> mg.Tensor:
        h = emb[tokens] + pos  # (4, 5, 3)
        main = mg.nn.functional.cross_entropy((h @ w).reshape(20, 7), tokens.reshape(20))
        aux = (h * h).mean()
        l2 = (emb * emb).sum() * 1e-2
        return aux + l2 + main

    params = [rng.standard_normal(s) for s in ((7, 3), (5, 3), (3, 7))]
    first = [leaf(p) for p in params]
    loss_of(*first).backward()
    second = [leaf(p) for p in params]
    expected = mg.autograd.grad(loss_of(*second), second)
    for got, want in zip(first, expected):
        np.testing.assert_allclose(got.grad.numpy(), want.numpy(), rtol=1e-12, atol=1e-14)


def test_leaves_never_share_gradient_arrays() -> None:
    a, b = leaf(np.ones(3)), leaf(np.ones(3))
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad.data, b.grad.data)
    a.grad.data *= 3  # e.g. a hand-written gradient clip: b must not change
    np.testing.assert_array_equal(b.grad.numpy(), [1, 1, 1])


def test_retained_gradient_is_its_own_array() -> None:
    a = leaf([1.0, 2.0])
    y = a * 3.0
    z = y.reshape(2, 1)  # a view of y's gradient flows back through the reshape
    y.retain_grad()
    z.retain_grad()
    (z.reshape(2) + a).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [1, 1])
    np.testing.assert_array_equal(a.grad.numpy(), [4, 4])
    for t in (z.grad, a.grad):
        assert not np.shares_memory(y.grad.data, t.data)


def test_user_gradient_is_never_written() -> None:
    a = leaf([1.0, 2.0])
    g = mg.tensor([1.0, 1.0], dtype=np.float64)
    a.backward(g)  # a leaf as the root: its .grad must be a copy of g
    a.backward(g)
    np.testing.assert_array_equal(g.numpy(), [1, 1])
    np.testing.assert_array_equal(a.grad.numpy(), [2, 2])


def test_grad_from_an_earlier_backward_is_not_written_in_place() -> None:
    a = leaf([1.0, 2.0])
    (a * 2.0).sum().backward()
    held = a.grad
    (a * 5.0).sum().backward()
    np.testing.assert_array_equal(held.numpy(), [2, 2])  # what the user kept is unchanged
    np.testing.assert_array_equal(a.grad.numpy(), [7, 7])


def test_create_graph_leaf_gradients_are_separate_tensors() -> None:
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    ((a + b) ** 2).sum().backward(create_graph=True)
    assert a.grad is not b.grad and a.grad.requires_grad
    (a.grad * b.grad).sum().backward()  # second order through both: d/da, d/db of 4 (a+b)^2
    s = np.array([4.0, 6.0])
    np.testing.assert_allclose(a.grad.numpy(), 2 * s + 8 * s)


def test_in_place_change_of_a_saved_output_is_refused() -> None:
    # issue 10, hole 2: exp saves its output; zeroing it silently gave x.grad == 0
    x = leaf([1.0, 2.0])
    y = x.exp()
    z = y.sum()
    y.zero_()
    with pytest.raises(RuntimeError, match=r"Exp.*output.*modified in place"):
        z.backward()


@pytest.mark.parametrize("make", [
    lambda x: x.tanh(), lambda x: x.sigmoid(), lambda x: x.sqrt(), lambda x: x.relu(),
])
def test_every_saved_output_is_version_checked(make) -> None:
    x = leaf([1.0, 2.0])
    y = make(x)
    z = (y * 1.0).sum()
    with mg.no_grad():
        y[0] = 5.0
    with pytest.raises(RuntimeError, match="modified in place"):
        z.backward()


def test_changing_an_output_that_was_not_saved_is_allowed() -> None:
    x = leaf([1.0, 2.0])
    y = x * 2.0  # Mul saves its inputs, not its output
    z = y.sum()
    y.zero_()
    z.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2, 2])


def test_gradients_accumulate_on_their_own_gpu() -> None:
    """A graph that crosses cuda:0 -> cuda:1: y's gradient is summed (y is used twice)
    and the leaf's .grad made on cuda:1, while the root lives on cuda:0."""
    if not mg.cuda.is_available() or mg.cuda.device_count() < 2:
        pytest.skip("needs two CUDA devices (real or the CuPy stand-in)")
    x = mg.tensor([1.0, 2.0], dtype=np.float64, device="cuda:1", requires_grad=True)
    y = x * 1.0
    z = ((y * y + y).sum() + x.sum()).to("cuda:0")
    z.backward()
    assert x.grad.device == "cuda:1"
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 6.0])  # 2x + 1 + 1
    x2 = mg.tensor([1.0, 2.0], dtype=np.float64, device="cuda:1", requires_grad=True)
    (g,) = mg.autograd.grad(((x2 * x2).sum() + x2.sum()).to("cuda:0"), [x2])
    np.testing.assert_array_equal(g.numpy(), [3.0, 5.0])
