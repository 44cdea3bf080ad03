"""In-place operators and methods: values, PyTorch's autograd rules, version counters."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg


def _f64(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def test_hand_written_sgd_step_changes_the_parameters_themselves() -> None:
    model = mg.nn.Linear(3, 2)
    before = [p.data.copy() for p in model.parameters()]
    ids = [id(p.data) for p in model.parameters()]
    x = mg.tensor(_f64(4, 3).astype(np.float32))
    model(x).sum().backward()
    lr = 0.1
    with mg.no_grad():
        for p in model.parameters():
            p -= lr * p.grad
    for p, b, i in zip(model.parameters(), before, ids):
        np.testing.assert_allclose(p.data, b - lr * p.grad.data, rtol=1e-6)
        assert id(p.data) == i  # the same array, changed in place
        assert p.is_leaf and p.requires_grad


def test_add_with_alpha_under_no_grad_equals_the_explicit_formula() -> None:
    p = mg.tensor(_f64(3, 2), requires_grad=True)
    g = mg.tensor(_f64(3, 2, seed=1))
    expected = p.data - 0.5 * g.data
    with mg.no_grad():
        out = p.add_(g, alpha=-0.5)
    assert out is p
    np.testing.assert_allclose(p.data, expected)


@pytest.mark.parametrize("method, op", [
    ("add_", np.add), ("sub_", np.subtract), ("mul_", np.multiply), ("div_", np.divide),
])
def test_each_method_and_its_operator_agree_with_numpy(method: str, op) -> None:
    a, b = _f64(2, 3), _f64(3, seed=2) + 3.0
    t = mg.tensor(a)
    getattr(t, method)(mg.tensor(b))
    np.testing.assert_allclose(t.data, op(a, b))
    u = mg.tensor(a)
    v = u
    symbol = {"add_": "+=", "sub_": "-=", "mul_": "*=", "div_": "/="}[method]
    ns = {"u": u, "b": mg.tensor(b)}
    exec(f"u {symbol} b", ns)
    assert ns["u"] is v
    np.testing.assert_allclose(v.data, op(a, b))


def test_fill_copy_clamp_zero() -> None:
    t = mg.tensor(_f64(2, 3))
    t.fill_(2.5)
    np.testing.assert_array_equal(t.data, np.full((2, 3), 2.5))
    t.copy_(mg.tensor(np.arange(3.0)))  # broadcast
    np.testing.assert_array_equal(t.data, np.tile(np.arange(3.0), (2, 1)))
    t.clamp_(0.5, 1.5)
    np.testing.assert_array_equal(t.data, np.tile([0.5, 1.0, 1.5], (2, 1)))
    t.zero_()
    assert not t.data.any()
    ints = mg.tensor([1, 2, 3])
    ints.copy_(mg.tensor([1.7, -2.2, 0.0], dtype=np.float64))  # copy_ casts, as PyTorch's
    assert ints.dtype == np.int64 and ints.tolist() == [1, -2, 0]


def test_leaf_that_requires_grad_refuses_outside_no_grad_and_is_unchanged() -> None:
    w = mg.tensor(_f64(3), requires_grad=True)
    before = w.data.copy()
    for call in (lambda: w.add_(1.0), lambda: w.mul_(2.0), lambda: w.fill_(0.0),
                 lambda: w.copy_(mg.zeros(3, dtype=np.float64)), lambda: w.clamp_(0, 1)):
        with pytest.raises(RuntimeError, match="leaf tensor of shape \\(3,\\) that requires grad"):
            call()
    with pytest.raises(RuntimeError, match="add_"):
        w += 1.0
    np.testing.assert_array_equal(w.data, before)
    assert w._version is None


def test_refusals_name_the_method_and_leave_the_tensor_unchanged() -> None:
    t = mg.tensor(np.ones(3))
    with pytest.raises(RuntimeError, match=r"add_: the result has shape \(2, 3\)"):
        t.add_(mg.tensor(np.ones((2, 3))))
    ints = mg.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="div_: .*float32.*int64"):
        ints.div_(mg.tensor(np.array([2.0, 2.0, 2.0])))
    with pytest.raises(RuntimeError, match="mul_: .*float"):
        ints *= 0.5
    assert ints.tolist() == [1, 2, 3]
    np.testing.assert_array_equal(t.data, np.ones(3))
    e = mg.tensor(np.ones(3)).expand(2, 3)
    with pytest.raises(RuntimeError, match="read-only"):
        e.mul_(2.0)


def test_version_bump_makes_backward_through_a_saved_input_raise() -> None:
    w = mg.tensor(_f64(3), requires_grad=True)
    x = mg.tensor(_f64(3, seed=1), requires_grad=True)
    y = (w * x).sum()
    with mg.no_grad():
        w -= 0.1
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


@pytest.mark.skipif(not hasattr(mg.autograd.function, "_watch"),
                    reason="saved outputs are version-checked from the engine rewrite on main")
def test_version_bump_makes_backward_through_a_saved_output_raise() -> None:
    x = mg.tensor(_f64(3), requires_grad=True)
    y = x.exp()
    y.mul_(2.0)  # Exp saved y; PyTorch raises here too
    with pytest.raises(RuntimeError, match="modified"):
        y.sum().backward()


def test_in_place_on_a_non_leaf_is_recorded_with_pytorchs_gradients() -> None:
    x0, w0 = _f64(2, 3), _f64(3, seed=3)
    x = mg.tensor(x0, requires_grad=True)
    w = mg.tensor(w0, requires_grad=True)
    h = x * 2.0
    h.mul_(w)  # the new node saves a copy of the old h: w's gradient is 2x
    h.add_(w, alpha=3.0)
    h.clamp_(max=1.0)
    h.sum().backward()
    # the same gradient out of place
    x2 = mg.tensor(x0, requires_grad=True)
    w2 = mg.tensor(w0, requires_grad=True)
    mg.clip(x2 * 2.0 * w2 + 3.0 * w2, max=1.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, x2.grad.data)
    np.testing.assert_allclose(w.grad.data, w2.grad.data)
    # and by hand
    keep = (2 * x0 * w0 + 3 * w0) <= 1.0
    np.testing.assert_allclose(x.grad.data, 2 * w0 * keep)
    np.testing.assert_allclose(w.grad.data, ((2 * x0 + 3) * keep).sum(0))


def test_in_place_into_a_plain_tensor_from_a_tensor_that_requires_grad_records() -> None:
    buf = mg.zeros(3, dtype=np.float64)
    w = mg.tensor(_f64(3), requires_grad=True)
    buf += w
    buf *= w
    assert not buf.is_leaf
    buf.sum().backward()
    np.testing.assert_allclose(w.grad.data, 2 * w.data)


def test_copy_and_fill_from_a_tensor_pass_the_gradient_to_the_source() -> None:
    src = mg.tensor(_f64(3), requires_grad=True)
    dst = mg.zeros(2, 3, dtype=np.float64)
    dst.copy_(src)
    s = mg.tensor(np.array(2.0), requires_grad=True)
    other = mg.zeros(4, dtype=np.float64)
    other.fill_(s)
    (dst.sum() + other.sum()).backward()
    np.testing.assert_array_equal(src.grad.data, [2.0, 2.0, 2.0])
    assert s.grad.item() == 4.0
    assert mg.autograd.gradcheck(lambda a: mg.zeros(2, 3, dtype=np.float64).copy_(a) * 3.0, [src])


def test_detached_alias_sees_the_change_and_shares_the_version() -> None:
    x = mg.tensor(_f64(3), requires_grad=True)
    d = x.detach()
    with mg.no_grad():
        x.add_(1.0)
    np.testing.assert_array_equal(d.data, x.data)
    assert d._version is x._version


def test_recorded_in_place_on_a_view_of_another_tensor_is_refused_not_wrong() -> None:
    x = mg.tensor(_f64(3, 2), requires_grad=True)
    h = x * 2.0
    row = h[0]  # a NumPy view into h's array
    before = h.data.copy()
    with pytest.raises(RuntimeError, match=r"mul_: .*shares its memory"):
        row.mul_(3.0)
    np.testing.assert_array_equal(h.data, before)
    r = h.reshape(6)
    with pytest.raises(RuntimeError, match="add_"):
        r += 1.0
