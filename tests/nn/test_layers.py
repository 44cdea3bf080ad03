"""Linear, Embedding, Dropout, LayerNorm: PyTorch values, initialisation, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from nn_reference import assert_close, load_cases

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn

F64 = np.float64


def _backprop(out: mg.Tensor, g: np.ndarray) -> None:
    (out * mg.tensor(g, dtype=F64)).sum().backward()


@pytest.mark.parametrize("case", ["bias", "nobias"])
def test_linear_matches_pytorch(case: str) -> None:
    c = load_cases("nn_linear")[case]
    layer = nn.Linear(3, 5, bias=case == "bias", dtype=F64)
    layer.load_state_dict({k: c[k] for k in ("weight", "bias") if k in c})
    x = mg.tensor(c["x"], dtype=F64, requires_grad=True)
    out = layer(x)
    assert_close(out.numpy(), c["out"])
    _backprop(out, c["g"])
    assert_close(x.grad.numpy(), c["grad_x"])
    assert_close(layer.weight.grad.numpy(), c["grad_weight"])
    if case == "bias":
        assert_close(layer.bias.grad.numpy(), c["grad_bias"])
    else:
        assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]


@pytest.mark.parametrize("case", ["plain", "pad0", "pad_neg"])
def test_embedding_matches_pytorch_and_padding_row_gets_no_grad(case: str) -> None:
    c = load_cases("nn_embedding")[case]
    pad = int(c["padding_idx"])
    layer = nn.Embedding(10, 4, padding_idx=None if pad == -1000 else pad, dtype=F64)
    layer.load_state_dict({"weight": c["weight"]})
    out = layer(mg.tensor(c["idx"]))
    assert out.shape == (3, 4, 4)
    assert_close(out.numpy(), c["out"])
    _backprop(out, c["g"])
    assert_close(layer.weight.grad.numpy(), c["grad_weight"])
    if pad != -1000:
        assert layer.padding_idx == pad % 10
        assert not layer.weight.grad.numpy()[pad].any()


@pytest.mark.parametrize("case", ["last", "last2", "noaffine"])
def test_layer_norm_matches_pytorch(case: str) -> None:
    c = load_cases("nn_layer_norm")[case]
    shape = tuple(int(s) for s in c["shape"])
    affine = bool(c["affine"])
    layer = nn.LayerNorm(shape, eps=float(c["eps"]), elementwise_affine=affine, dtype=F64)
    if affine:
        layer.load_state_dict({"weight": c["weight"], "bias": c["bias"]})
    else:
        assert list(layer.parameters()) == []
    x = mg.tensor(c["x"], dtype=F64, requires_grad=True)
    out = layer(x)
    assert_close(out.numpy(), c["out"])
    _backprop(out, c["g"])
    assert_close(x.grad.numpy(), c["grad_x"])
    if affine:
        assert_close(layer.weight.grad.numpy(), c["grad_weight"])
        assert_close(layer.bias.grad.numpy(), c["grad_bias"])


def test_default_init_follows_pytorch() -> None:
    mg.manual_seed(0)
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = lin.weight.numpy(), lin.bias.numpy()
    assert w.dtype == np.float32 and w.shape == (300, 400) and b.shape == (300,)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert np.isclose(w.std(), bound / math.sqrt(3), rtol=0.02)  # U(-b, b) has std b/sqrt(3)
    assert np.abs(b).max() <= bound
    emb = nn.Embedding(500, 40, padding_idx=3)
    e = emb.weight.numpy()
    assert not e[3].any()
    assert abs(e.std() - 1) < 0.02 and abs(e.mean()) < 0.02
    ln = nn.LayerNorm(7)
    assert (ln.weight.numpy() == 1).all() and (ln.bias.numpy() == 0).all()
    assert ln.weight.requires_grad and lin.weight.requires_grad


def test_init_is_reproducible_with_manual_seed() -> None:
    mg.manual_seed(42)
    a = nn.Linear(5, 4).weight.numpy()
    mg.manual_seed(42)
    b = nn.Linear(5, 4).weight.numpy()
    c = nn.Linear(5, 4).weight.numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)


def test_initializers() -> None:
    t = mg.zeros(200, 100)
    nn.init.xavier_uniform_(t, gain=2.0)
    bound = 2.0 * math.sqrt(6 / 300)
    assert np.abs(t.numpy()).max() <= bound and np.abs(t.numpy()).max() > 0.95 * bound
    nn.init.kaiming_uniform_(t, nonlinearity="relu")
    assert np.abs(t.numpy()).max() <= math.sqrt(2) * math.sqrt(3 / 100)
    nn.init.normal_(t, 2.0, 0.5)
    assert abs(t.numpy().mean() - 2.0) < 0.02 and abs(t.numpy().std() - 0.5) < 0.02
    nn.init.zeros_(t)
    assert not t.numpy().any()
    nn.init.ones_(t)
    assert (t.numpy() == 1).all() and t.dtype == np.float32
    assert nn.init.calculate_gain("tanh") == pytest.approx(5 / 3)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(mg.zeros(3))


def test_dropout_train_and_eval() -> None:
    mg.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = mg.ones(100, 100)
    y = drop(x).numpy()
    kept = y != 0
    assert abs(1 - kept.mean() - 0.25) < 0.02
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    drop.eval()
    np.testing.assert_array_equal(drop(x).numpy(), x.numpy())
    with pytest.raises(ValueError, match="Dropout: probability"):
        nn.Dropout(1.5)


def test_layer_gradchecks() -> None:
    mg.manual_seed(1)
    rng = np.random.default_rng(1)
    lin = nn.Linear(3, 2, dtype=F64)
    x = mg.tensor(rng.normal(size=(4, 3)), dtype=F64, requires_grad=True)
    assert mg.autograd.gradcheck(lambda a, w, b: F.linear(a, w, b), [x, lin.weight, lin.bias])
    ln = nn.LayerNorm(3, dtype=F64)
    ln.load_state_dict({"weight": rng.normal(size=3), "bias": rng.normal(size=3)})
    assert mg.autograd.gradcheck(
        lambda a, w, b: F.layer_norm(a, (3,), w, b), [x, ln.weight, ln.bias]
    )
    emb = nn.Embedding(5, 3, dtype=F64)  # padding_idx withholds a true gradient by design
    idx = np.array([[1, 2, 2], [4, 0, 1]])
    assert mg.autograd.gradcheck(lambda w: F.embedding(idx, w), [emb.weight])
    drop = nn.Dropout(0.4)

    def dropped(a: mg.Tensor) -> mg.Tensor:
        mg.manual_seed(5)  # the same mask on every evaluation
        return drop(a)

    assert mg.autograd.gradcheck(dropped, [x])


def test_layer_input_errors_name_layer_and_shapes() -> None:
    lin = nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"\(4, 5\)"):
        lin(mg.zeros(4, 5))
    emb = nn.Embedding(4, 2)
    with pytest.raises(IndexError, match=r"embedding: index 4 is out of range .* 4 rows"):
        emb(mg.tensor(np.array([0, 4])))
    with pytest.raises(TypeError, match="embedding: indices must be integers, got dtype float32"):
        emb(mg.zeros(2))
    with pytest.raises(ValueError, match="padding_idx 9"):
        nn.Embedding(4, 2, padding_idx=9)
    ln = nn.LayerNorm((2, 3))
    with pytest.raises(
        ValueError,
        match=r"layer_norm: input of shape \(4, 3, 2\) does not end with normalized_shape \(2, 3\)",
    ):
        ln(mg.zeros(4, 3, 2))
    with pytest.raises(ValueError, match="Linear: in_features must be a non-negative int"):
        nn.Linear(-1, 2)


def test_layer_reprs() -> None:
    assert "in_features=3, out_features=2, bias=True" in repr(nn.Linear(3, 2))
    assert "padding_idx=0" in repr(nn.Embedding(4, 2, padding_idx=0))
