"""Losses against PyTorch fixtures, gradient checks, and their input errors."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from nn_reference import assert_close, load_cases, options

import minigrad as mg
import minigrad.nn.functional as F

LOSSES = {
    "nn_cross_entropy": F.cross_entropy,
    "nn_nll_loss": F.nll_loss,
}
CASES = [(name, case) for name in LOSSES for case in sorted(load_cases(name))]
MSE_BCE = load_cases("nn_mse_bce")


def _f64(a: np.ndarray, grad: bool = False) -> mg.Tensor:
    return mg.tensor(a, dtype=np.float64, requires_grad=grad)


def _kwargs(case: dict[str, np.ndarray]) -> dict[str, object]:
    return {k: (_f64(v) if isinstance(v, np.ndarray) else v) for k, v in options(case).items()}


def _check(fn: Callable[..., mg.Tensor], case: dict[str, np.ndarray]) -> None:
    x = _f64(case["input"], grad=True)
    soft = case["target"].dtype.kind == "f"
    target = _f64(case["target"], grad=True) if soft else case["target"]
    out = fn(x, target, **_kwargs(case))
    assert out.dtype == np.float64
    assert_close(out.numpy(), case["out"], "forward")
    (out * _f64(case["g"])).sum().backward()
    assert_close(x.grad.numpy(), case["grad_input"], "grad of input")
    if soft:
        assert_close(target.grad.numpy(), case["grad_target"], "grad of target")


@pytest.mark.parametrize(("name", "case"), CASES)
def test_class_losses_match_pytorch(name: str, case: str) -> None:
    _check(LOSSES[name], load_cases(name)[case])


@pytest.mark.parametrize("case", sorted(MSE_BCE))
def test_mse_and_bce_with_logits_match_pytorch(case: str) -> None:
    fn = F.mse_loss if case.startswith("mse") else F.binary_cross_entropy_with_logits
    _check(fn, MSE_BCE[case])


def test_cross_entropy_is_stable_for_huge_logits() -> None:
    x = mg.tensor([[1000.0, -1000.0, 0.0]], requires_grad=True)
    loss = F.cross_entropy(x, np.array([1]))
    loss.backward()
    assert np.isclose(loss.item(), 2000.0, rtol=1e-6)
    assert np.all(np.isfinite(x.grad.numpy()))


def test_cross_entropy_accepts_lists_as_targets() -> None:
    x = mg.tensor([[1.0, 2.0, 0.5], [0.1, -1.0, 0.3]], dtype=np.float64)
    by_index = F.cross_entropy(x, [1, 0]).item()
    by_probs = F.cross_entropy(x, [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]).item()
    assert by_index == pytest.approx(by_probs, rel=1e-12)
    logp = np.log(np.exp(x.numpy()) / np.exp(x.numpy()).sum(1, keepdims=True))
    assert by_index == pytest.approx(-(logp[0, 1] + logp[1, 0]) / 2, rel=1e-12)


def test_losses_keep_float32() -> None:
    x = mg.tensor(
        np.random.default_rng(0).normal(size=(4, 3)), dtype=np.float32, requires_grad=True
    )
    t = np.array([0, 2, 1, 2])
    for loss in (
        F.cross_entropy(x, t, label_smoothing=0.1, weight=np.ones(3, np.float32)),
        F.nll_loss(x.log_softmax(1), t),
        F.mse_loss(x, mg.zeros(4, 3)),
        F.binary_cross_entropy_with_logits(x, mg.ones(4, 3)),
    ):
        assert loss.dtype == np.float32
        loss.backward()
        assert x.grad.dtype == np.float32


def test_cross_entropy_all_ignored_mean_is_nan_like_pytorch() -> None:
    x = mg.tensor(np.zeros((2, 3)), dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        assert np.isnan(F.cross_entropy(x, np.array([-100, -100])).item())


@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss])
def test_out_of_range_target_names_op_value_and_range(fn: Callable[..., mg.Tensor]) -> None:
    x = mg.tensor(np.zeros((3, 4)))
    target = np.array([0, 7, 1])
    with pytest.raises(IndexError, match=rf"{fn.__name__}: target value 7 .*\[0, 3\]"):
        fn(x, target)
    with pytest.raises(IndexError, match="target value -1"):
        fn(x, np.array([0, -1, 1]))
    assert target.tolist() == [0, 7, 1]


def test_cross_entropy_rejects_bad_shapes_dtypes_and_options() -> None:
    x = mg.tensor(np.zeros((3, 4)))
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: input of shape \(3, 4\) needs a target of shape \(3,\), got \(2,\)",
    ):
        F.cross_entropy(x, np.array([0, 1]))
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        F.cross_entropy(x, np.array([0, 1, 2]), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, np.array([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"probabilities .* shape \(3, 4\), got \(3, 2\)"):
        F.cross_entropy(x, np.zeros((3, 2)))
    with pytest.raises(
        TypeError, match="cross_entropy: input must be a floating tensor, got dtype int64"
    ):
        F.cross_entropy(mg.tensor(np.zeros((3, 4), np.int64)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"weight must have shape \(4,\)"):
        F.cross_entropy(x, np.array([0, 1, 2]), weight=np.ones(3))


def test_mse_and_bce_reject_mismatched_shapes() -> None:
    x = mg.tensor(np.zeros((3, 4)))
    with pytest.raises(
        ValueError, match=r"mse_loss: target shape \(4,\) must equal input shape \(3, 4\)"
    ):
        F.mse_loss(x, mg.zeros(4))
    with pytest.raises(ValueError, match="binary_cross_entropy_with_logits: target shape"):
        F.binary_cross_entropy_with_logits(x, mg.zeros(3))


def test_loss_gradchecks() -> None:
    rng = np.random.default_rng(3)
    x = _f64(rng.normal(size=(4, 3, 2)), grad=True)
    t = np.array([[0, 1], [2, -100], [1, 1], [0, 2]])
    probs = rng.random((4, 3, 2))
    assert mg.autograd.gradcheck(
        lambda a: F.cross_entropy(a, t, label_smoothing=0.2, weight=np.array([1.0, 2.0, 0.5])), [x]
    )
    assert mg.autograd.gradcheck(lambda a, p: F.cross_entropy(a, p), [x, _f64(probs, grad=True)])
    assert mg.autograd.gradcheck(lambda a: F.nll_loss(a, t, reduction="sum"), [x])
    y = _f64(rng.normal(size=(4, 3, 2)), grad=True)
    assert mg.autograd.gradcheck(lambda a, b: F.mse_loss(a, b), [x, y])
    assert mg.autograd.gradcheck(
        lambda a, b: F.binary_cross_entropy_with_logits(
            a, b, pos_weight=_f64(np.array([0.5, 3.0]))
        ),
        [x, _f64(probs, grad=True)],
    )
