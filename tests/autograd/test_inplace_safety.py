"""In-place changes never give a silently wrong gradient: they are caught (as PyTorch
catches them) or they are correct. Each case came from an adversarial review."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg

f64 = np.float64
MODIFIED = "modified in place"


def leaf(values) -> mg.Tensor:
    return mg.tensor(np.asarray(values, dtype=f64), dtype=f64, requires_grad=True)


def test_changing_the_base_of_a_saved_view_is_caught() -> None:
    x = leaf([1.0, 2.0, 3.0])
    b = x * 1
    y = (b[0:2] * b[0:2]).sum()  # Mul saved views of b
    b.mul_(10)
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.backward()


@pytest.mark.parametrize("make_view", [
    lambda t: t.detach()[0:2], lambda t: t.detach().reshape(3, 1), lambda t: t.detach().T,
    lambda t: mg.split(t.detach(), [1, 2])[1],
], ids=["slice", "reshape", "transpose", "split"])
def test_changing_a_view_of_a_saved_tensor_is_caught(make_view) -> None:
    x = leaf([1.0, 2.0, 3.0])
    y = (x * x).sum()
    with mg.no_grad():
        make_view(x).mul_(5)
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.backward()


def test_optimizer_step_between_forward_and_backward_of_linear_is_caught() -> None:
    # Linear saves weight.T, a view: stepping the weight must still be caught
    lin = mg.nn.Linear(3, 2, dtype=f64)
    x = leaf(np.ones((1, 3)))
    out = lin(x).sum()
    opt = mg.optim.SGD(lin.parameters(), lr=1.0)
    for p in lin.parameters():
        p.grad = mg.tensor(np.ones(p.shape), dtype=f64)
    opt.step()
    with pytest.raises(RuntimeError, match="before optimizer.step"):
        out.backward()


def test_init_after_forward_is_caught() -> None:
    p, x = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    y = (p * x).sum()
    with mg.no_grad():
        mg.nn.init.constant_(p, 5.0)
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.backward()


def test_in_place_op_with_an_operand_overlapping_its_target_is_refused() -> None:
    x = leaf([2.0, 3.0, 4.0])
    h = x * 1
    with pytest.raises(RuntimeError, match="shares memory"):
        h.div_(h[0:1])
    np.testing.assert_array_equal(h.numpy(), [2, 3, 4])  # nothing changed


def test_in_place_op_with_itself_as_operand_is_caught_at_backward_like_pytorch() -> None:
    x = leaf([2.0, 3.0])
    h = x * 1
    h.mul_(h)  # the value is right; the Mul saved h, which the write then changed
    np.testing.assert_array_equal(h.numpy(), [4, 9])
    with pytest.raises(RuntimeError, match=MODIFIED):
        h.sum().backward()


def test_changing_an_index_array_after_the_forward_does_not_change_the_gradient() -> None:
    emb = mg.nn.Embedding(4, 2, dtype=f64)
    idx = mg.tensor([0, 1])
    out = (emb(idx) * mg.tensor([[1.0, 1.0], [2.0, 2.0]], dtype=f64)).sum()
    idx[0] = 3  # the next batch written into the same buffer
    out.backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy(), [[1, 1], [2, 2], [0, 0], [0, 0]])


def test_changing_a_where_condition_after_the_forward_does_not_change_the_gradient() -> None:
    x = leaf([1.0, 2.0, 3.0])
    c = mg.tensor([True, False, True])
    y = mg.where(c, x, x * 0).sum()
    c[1] = True
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 0, 1])


def test_retain_grad_follows_the_tensor_through_an_in_place_op() -> None:
    x = leaf([1.0, 2.0])
    h = x * 2
    h.retain_grad()
    h.mul_(3)
    (h * h).sum().backward()
    np.testing.assert_array_equal(h.grad.numpy(), [12, 24])  # 2 h of the current h
    np.testing.assert_array_equal(x.grad.numpy(), [72, 144])


def test_assigning_a_value_that_requires_grad_into_a_plain_tensor_is_refused() -> None:
    w = leaf([1.0, 2.0])
    z = mg.tensor(np.zeros(3), dtype=f64)
    with pytest.raises(RuntimeError, match="would drop its gradient"):
        z[0] = w[1] * 3
    np.testing.assert_array_equal(z.numpy(), [0, 0, 0])
    z[0] = (w[1] * 3).detach()  # explicitly without gradient: fine
    assert z.numpy()[0] == 6


def test_recorded_in_place_op_on_a_view_of_a_plain_tensor_is_refused() -> None:
    w = leaf([1.0, 2.0])
    z = mg.tensor(np.zeros(3), dtype=f64)
    with pytest.raises(RuntimeError, match="shares its memory"):
        z[0:2].add_(w)
    np.testing.assert_array_equal(z.numpy(), [0, 0, 0])


def test_copy_of_a_constant_into_a_non_leaf_keeps_it_in_the_graph() -> None:
    a = leaf([1.0, 2.0])
    b = a * 1
    b.copy_(mg.tensor([5.0, 6.0], dtype=f64))
    assert b.requires_grad
    (b * 2).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0, 0])  # PyTorch's answer
    np.testing.assert_array_equal(b.numpy(), [5, 6])


def test_leading_axis_sum_result_is_not_a_view() -> None:
    x = mg.tensor(np.ones((20, 3), dtype=np.float32), requires_grad=True)
    s = x.sum(0)
    s.add_(1)  # was refused as "shares its memory" (the pairwise sum returned a view)
    s.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((20, 3)))


def test_autograd_grad_returns_the_input_dtype() -> None:
    x = mg.tensor([1.0, 2.0], requires_grad=True)  # float32
    y = (x.to(np.float64) * mg.tensor([3.0, 4.0], dtype=f64)).sum()
    (g,) = mg.autograd.grad(y, x)
    assert g.dtype == np.float32
    y2 = (x.to(np.float64) * mg.tensor([3.0, 4.0], dtype=f64)).sum()
    y2.backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(g.numpy(), x.grad.numpy())
