"""Engine regressions: accumulation, depth, freeing, higher order, modes, scopes."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import minigrad as mg


def f64(x, requires_grad: bool = True) -> mg.Tensor:
    return mg.tensor(np.asarray(x, dtype=np.float64), dtype=np.float64, requires_grad=requires_grad)


def test_diamond_accumulates_four() -> None:
    a = f64([2.0])
    b = a + a
    c = b + b
    c.backward()
    np.testing.assert_array_equal(a.grad.numpy(), [4.0])


def test_depth_10000_chain_backprops_without_recursion() -> None:
    x = f64([1.0, 2.0])
    y = x
    for _ in range(10_000):
        y = y * 1.0 + 0.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_backward_twice_with_retain_graph_accumulates() -> None:
    x = f64([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * np.array([1.0, 2.0]))


def test_second_backward_through_freed_graph_raises() -> None:
    x = f64([1.0])
    y = (x.exp() * 3).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_graph_is_freed_after_backward() -> None:
    x = f64(np.ones(3))
    h = x.tanh()
    ref = weakref.ref(h)
    loss = (h * h).sum()
    del h
    gc.collect()
    assert ref() is not None, "the graph must keep a saved intermediate alive before backward"
    loss.backward()
    assert ref() is None, "backward must release saved intermediates"


def test_retain_graph_keeps_intermediates() -> None:
    x = f64(np.ones(3))
    h = x.tanh()
    ref = weakref.ref(h)
    loss = (h * h).sum()
    del h
    loss.backward(retain_graph=True)
    assert ref() is not None


def test_hessian_vector_product_matches_finite_differences() -> None:
    rng = np.random.default_rng(0)
    x0, v = rng.standard_normal(4), rng.standard_normal(4)

    def f(x: mg.Tensor) -> mg.Tensor:
        return (x**3).sum() + (x.tanh() * x.sigmoid()).sum() + (x[:2] * x[2:]).sum()

    def grad_at(x_np: np.ndarray) -> np.ndarray:
        x = f64(x_np)
        (g,) = mg.autograd.grad(f(x), x)
        return g.numpy()

    x = f64(x0)
    (g,) = mg.autograd.grad(f(x), x, create_graph=True)
    assert g.requires_grad
    (hv,) = mg.autograd.grad((g * f64(v, False)).sum(), x)
    eps = 1e-6
    fd = (grad_at(x0 + eps * v) - grad_at(x0 - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hv.numpy(), fd, rtol=1e-6, atol=1e-8)


def test_third_derivative() -> None:
    x = f64([0.7])
    (g1,) = mg.autograd.grad((x**4).sum(), x, create_graph=True)
    (g2,) = mg.autograd.grad(g1.sum(), x, create_graph=True)
    (g3,) = mg.autograd.grad(g2.sum(), x)
    np.testing.assert_allclose(g3.numpy(), [24 * 0.7])


def test_autograd_grad_leaves_dot_grad_untouched() -> None:
    x = f64([1.0, 2.0])
    (g,) = mg.autograd.grad((x * 3).sum(), x)
    np.testing.assert_array_equal(g.numpy(), [3.0, 3.0])
    assert x.grad is None


def test_autograd_grad_of_intermediate_and_unused_input() -> None:
    x, unused = f64([1.0, 2.0]), f64([5.0])
    h = x * 2
    y = (h * h).sum()
    gh, gu = mg.autograd.grad(y, [h, unused], allow_unused=True, retain_graph=True)
    np.testing.assert_array_equal(gh.numpy(), [4.0, 8.0])
    assert gu is None
    with pytest.raises(RuntimeError, match="not used"):
        mg.autograd.grad(y, [unused])


def test_no_grad_records_nothing() -> None:
    x = f64([1.0])
    with mg.no_grad():
        y = x * 2 + x.exp()
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad


def test_detach_cuts_the_graph() -> None:
    x = f64([3.0])
    y = x * x
    z = y.detach() * x
    z.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [9.0])
    assert y.detach().data is y.data


def test_retain_grad_on_intermediate() -> None:
    x = f64([1.0, -1.0])
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_array_equal(h.grad.numpy(), [6.0, -6.0])
    np.testing.assert_array_equal(x.grad.numpy(), [18.0, -18.0])


def test_leaf_grads_never_alias() -> None:
    a, b = f64([1.0]), f64([2.0])
    (a + b).backward()
    assert a.grad.data is not b.grad.data
    a.grad.zero_()
    np.testing.assert_array_equal(b.grad.numpy(), [1.0])


def test_user_grad_is_not_mutated() -> None:
    x = f64([1.0, 2.0])
    g = f64([1.0, 1.0], requires_grad=False)
    (x + 0).backward(g)
    (x + 0).backward(g)
    np.testing.assert_array_equal(g.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_float32_stays_float32_through_scalar_arithmetic() -> None:
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    assert x.dtype == np.float32
    y = ((x * 2.5 + 1) / 3.0 - 0.5) ** 2 * np.float64(1.5)
    y = 2.0 * y + np.float64(1.0) - 1 / (y + 1)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_int_tensor_with_float_scalar_becomes_default_float() -> None:
    assert (mg.tensor([1, 2]) * 0.5).dtype == np.float32
    assert (mg.tensor([1, 2]) + 1).dtype == np.int64
    assert (mg.tensor([1, 2]) / 2).dtype == np.float32


def test_backward_needs_grad_for_non_scalar() -> None:
    x = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"single-element.*\(2,\)"):
        (x * 2).backward()


def test_backward_on_tensor_without_grad_raises() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.tensor([1.0]).sum().backward()


def test_name_scope_tags_ops_and_nests() -> None:
    x = f64([1.0])
    with mg.name_scope("lstm"), mg.name_scope("l0"):
        with mg.name_scope("t3"):
            y = x * 2
        z = y + 1
    w = z * 1
    assert y.grad_fn.scope == "lstm/l0/t3"
    assert z.grad_fn.scope == "lstm/l0"
    assert w.grad_fn.scope == ""
    with pytest.raises(ValueError, match="scope name"):
        with mg.name_scope("a/b"):
            pass


def test_detect_anomaly_names_op_and_scope_in_forward() -> None:
    x = f64([-1.0])
    with mg.autograd.detect_anomaly(), mg.name_scope("enc"):
        with pytest.raises(RuntimeError, match=r"Log.*forward.*'enc'"), np.errstate(invalid="ignore"):
            x.log()


def test_detect_anomaly_names_op_in_backward() -> None:
    x = f64([0.0])
    with mg.autograd.detect_anomaly():
        y = x.sqrt()  # forward is finite (0); backward divides by 0
        with pytest.raises(RuntimeError, match=r"Sqrt.*backward"), np.errstate(divide="ignore"):
            y.sum().backward()


def test_requires_grad_only_for_floats() -> None:
    with pytest.raises(RuntimeError, match="floating-point"):
        mg.tensor([1, 2], requires_grad=True)


def test_gradcheck_reports_the_worst_entry() -> None:
    class Wrong(mg.autograd.Function):
        def forward(self, a):
            return a * a

        def backward(self, g):
            return g * 3.0  # wrong: should be 2a

    x = f64([1.0, 2.0])
    with pytest.raises(mg.autograd.GradcheckError, match=r"input 0.*index \(1,\): analytic"):
        mg.autograd.gradcheck(lambda t: Wrong.apply(t), [x])
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])  # user data untouched


def test_multi_output_split_with_unused_pieces() -> None:
    x = f64(np.arange(6.0))
    a, _, c = mg.split(x, 2)
    (a.sum() * 2 + c.sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2, 2, 0, 0, 1, 1])


def test_setitem_on_tensor_requiring_grad_refuses() -> None:
    x = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match="in-place"):
        x[0] = 5.0
    with mg.no_grad():
        x[0] = 5.0
    assert x.numpy()[0] == 5.0


def test_in_place_change_of_a_saved_tensor_is_refused_at_backward() -> None:
    w = f64([1.0, 2.0])
    a = f64([3.0, 4.0], requires_grad=False)
    y = (w * a).sum()
    a[0] = 100.0  # Mul saved `a` for dL/dw
    with pytest.raises(RuntimeError, match=r"Mul.*input 1.*modified in place"):
        y.backward()


def test_in_place_change_through_a_detached_alias_is_refused() -> None:
    w = f64([1.0, 2.0])
    y = (w * w).sum()
    with mg.no_grad():
        w.detach()[0] = 5.0
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_optimizer_step_between_forward_and_backward_is_refused() -> None:
    w = mg.nn.Parameter(np.array([1.0, 2.0]))
    opt = mg.optim.SGD([w], lr=0.1)
    y = (w * w).sum()
    w.grad = mg.tensor([1.0, 1.0], dtype=np.float64)
    opt.step()
    with pytest.raises(RuntimeError, match="before optimizer.step"):
        y.backward()
