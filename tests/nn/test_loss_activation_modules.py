"""Loss and activation modules: each equals its functional form, which the op table and
the PyTorch fixtures check; here also against formulas written out in NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 5)) * 3


def _t(a: np.ndarray, grad: bool = True) -> mg.Tensor:
    return mg.tensor(a, dtype=mg.float64, requires_grad=grad)


ACTIVATIONS = [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.ReLU6(), lambda x: np.clip(x, 0, 6)),
    (nn.Tanh(), np.tanh),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.GELU(), lambda x: F.gelu(_t(x)).numpy()),
    (nn.GELU("tanh"), lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))),
    (nn.SiLU(), lambda x: x / (1 + np.exp(-x))),
    (nn.Mish(), lambda x: x * np.tanh(np.log1p(np.exp(x)))),
    (nn.Softplus(beta=2.0), lambda x: np.log1p(np.exp(2 * x)) / 2),
    (nn.LeakyReLU(0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    (nn.ELU(0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
    (nn.Hardtanh(-2.0, 2.0), lambda x: np.clip(x, -2, 2)),
    (nn.Hardswish(), lambda x: x * np.clip(x + 3, 0, 6) / 6),
    (nn.Softmax(dim=1), lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
    (nn.LogSoftmax(dim=-1), lambda x: x - np.log(np.exp(x).sum(1, keepdims=True))),
    (nn.Identity(54, unused=True), lambda x: x),
]


@pytest.mark.parametrize("module, ref", ACTIVATIONS, ids=lambda v: type(v).__name__)
def test_activation_module_matches_numpy_and_passes_gradcheck(module, ref) -> None:
    x = _t(X)
    np.testing.assert_allclose(module(x).numpy(), ref(X), rtol=1e-12, atol=1e-14)
    assert mg.autograd.gradcheck(lambda t: module(t), [_t(X[:, :3] + 0.01)])
    assert list(module.parameters()) == []


def test_inplace_activation_writes_into_its_input_and_still_backpropagates() -> None:
    w = _t(X)
    h = w * 1.0
    out = nn.ReLU(inplace=True)(h)
    assert out is h
    np.testing.assert_array_equal(h.numpy(), np.maximum(X, 0))
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), (X > 0).astype(float))
    assert "inplace=True" in repr(nn.ReLU(inplace=True))


def test_loss_modules_equal_their_functions_and_numpy_formulas() -> None:
    logits = _t(X)
    target = mg.tensor([0, 4, 2])
    logp = X - np.log(np.exp(X).sum(1, keepdims=True))
    expected_ce = -logp[np.arange(3), [0, 4, 2]].mean()
    np.testing.assert_allclose(nn.CrossEntropyLoss()(logits, target).item(), expected_ce)
    np.testing.assert_allclose(nn.NLLLoss()(mg.tensor(logp), target).item(), expected_ce)
    w = np.array([1.0, 2.0, 0.5, 1.0, 3.0])
    ce_w = nn.CrossEntropyLoss(weight=w, label_smoothing=0.1, ignore_index=2)
    np.testing.assert_allclose(
        ce_w(logits, target).item(),
        F.cross_entropy(logits, target, weight=mg.tensor(w), label_smoothing=0.1,
                        ignore_index=2).item())
    assert set(ce_w.state_dict()) == {"weight"}
    y = RNG.standard_normal((3, 5))
    np.testing.assert_allclose(nn.MSELoss()(logits, _t(y, False)).item(), ((X - y) ** 2).mean())
    np.testing.assert_allclose(nn.MSELoss(reduction="sum")(logits, _t(y, False)).item(),
                               ((X - y) ** 2).sum())
    np.testing.assert_allclose(nn.L1Loss()(logits, _t(y, False)).item(), np.abs(X - y).mean())
    z = (y > 0).astype(float)
    bce = -(z * np.log(1 / (1 + np.exp(-X))) + (1 - z) * np.log(1 - 1 / (1 + np.exp(-X))))
    np.testing.assert_allclose(nn.BCEWithLogitsLoss()(logits, _t(z, False)).item(), bce.mean())
    pw = np.full(5, 2.0)
    np.testing.assert_allclose(
        nn.BCEWithLogitsLoss(pos_weight=pw, reduction="none")(logits, _t(z, False)).numpy(),
        F.binary_cross_entropy_with_logits(logits, _t(z, False), pos_weight=mg.tensor(pw),
                                           reduction="none").numpy())
    loss = nn.CrossEntropyLoss()(logits, target)
    loss.backward()
    soft = np.exp(logp)
    soft[np.arange(3), [0, 4, 2]] -= 1
    np.testing.assert_allclose(logits.grad.numpy(), soft / 3, atol=1e-14)


def test_bad_reduction_is_refused_naming_the_module() -> None:
    with pytest.raises(ValueError, match="CrossEntropyLoss: reduction"):
        nn.CrossEntropyLoss(reduction="avg")
