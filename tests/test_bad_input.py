"""Bad input, table-driven: every refusal names the culprit and changes nothing.

Each row builds fresh objects and returns the call to make and the objects it must
leave untouched (tensors, modules, optimizers, a folder of files). The test checks
the exception type, that its message holds every listed word, and that a byte-level
snapshot of the watched objects is the same afterwards.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

Setup = Callable[[Path], tuple[Callable[[], Any], list[Any]]]


class Row(NamedTuple):
    id: str
    setup: Setup
    exc: type[BaseException] | tuple[type[BaseException], ...]
    words: tuple[str, ...]


def _array(a: Any) -> tuple[Any, ...]:
    a = np.asarray(a)
    return ("array", a.dtype.str, a.shape, a.tobytes())


def snapshot(obj: Any) -> Any:
    """A comparable, byte-exact picture of ``obj`` (data, grads, state, files)."""
    if isinstance(obj, mg.Tensor):
        grad = None if obj.grad is None else _array(obj.grad.numpy())
        return ("tensor", _array(obj.numpy()), grad, obj.requires_grad)
    if isinstance(obj, nn.Module):
        named = list(obj.named_parameters()) + list(obj.named_buffers())
        return ("module", [(n, snapshot(t)) for n, t in named], obj.training)
    if isinstance(obj, mg.optim.Optimizer):
        groups, state = [], []
        for group in obj.param_groups:
            groups.append(repr(sorted((k, v) for k, v in group.items() if k != "params")))
            for p in group["params"]:
                state.append(
                    {k: _array(v) if hasattr(v, "shape") else v for k, v in obj.state.get(p, {}).items()}
                )
                groups.append(snapshot(p))
        return ("optimizer", groups, state)
    if isinstance(obj, np.ndarray):
        return _array(obj)
    if isinstance(obj, Path):
        if obj.is_dir():
            return ("dir", sorted((p.name, snapshot(p)) for p in obj.iterdir()))
        return ("file", obj.read_bytes()) if obj.exists() else ("missing",)
    if isinstance(obj, dict):
        return {k: snapshot(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [snapshot(v) for v in obj]
    raise TypeError(f"snapshot: cannot watch a {type(obj).__name__}")


def _seq(*shape: int, dtype: Any = np.float32) -> mg.Tensor:
    return mg.tensor(np.random.default_rng(0).standard_normal(shape), dtype=dtype)


def _ctor(make: Callable[[], Any]) -> Setup:
    return lambda tmp: (make, [])


def _layer_call(make: Callable[[], nn.Module], *args: Any, **kwargs: Any) -> Setup:
    """Call a fresh layer on ``args``; the layer and every Tensor/array argument are watched."""

    def setup(tmp: Path) -> tuple[Callable[[], Any], list[Any]]:
        mg.manual_seed(0)
        layer = make()
        values = [a() if callable(a) else a for a in args]
        watched = [layer] + [v for v in values if isinstance(v, mg.Tensor | np.ndarray | tuple)]
        return (lambda: layer(*values, **kwargs)), watched

    return setup


def _fn_call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Setup:
    def setup(tmp: Path) -> tuple[Callable[[], Any], list[Any]]:
        values = [a() if callable(a) else a for a in args]
        return (lambda: fn(*values, **kwargs)), [v for v in values if isinstance(v, mg.Tensor)]

    return setup


def _lstm_state(h: Any, c: Any) -> Callable[[], tuple[Any, Any]]:
    return lambda: (h() if callable(h) else h, c() if callable(c) else c)


H0 = (1, 2, 5)  # (num_layers * directions, batch, hidden) for the recurrent rows
f32 = lambda *s: _seq(*s)  # noqa: E731
f64 = lambda *s: _seq(*s, dtype=np.float64)  # noqa: E731

CONSTRUCTORS = [
    Row("LSTM-hidden-0", _ctor(lambda: nn.LSTM(2, 0)), ValueError, ("LSTM", "hidden_size", "0")),
    Row("GRU-hidden-negative", _ctor(lambda: nn.GRU(2, -1)), ValueError, ("GRU", "hidden_size", "-1")),
    Row("RNN-float-size", _ctor(lambda: nn.RNN(2.0, 3)), TypeError, ("RNN", "input_size", "2.0", "int")),
    Row("RNN-layers-0", _ctor(lambda: nn.RNN(2, 3, num_layers=0)), ValueError, ("RNN", "num_layers")),
    Row(
        "RNN-nonlinearity",
        _ctor(lambda: nn.RNN(2, 3, nonlinearity="sigmoid")),
        ValueError,
        ("RNN", "sigmoid"),
    ),
    Row("LSTM-dropout", _ctor(lambda: nn.LSTM(2, 3, dropout=1.5)), ValueError, ("LSTM", "dropout", "1.5")),
    Row("GRU-dropout-str", _ctor(lambda: nn.GRU(2, 3, dropout="0.1")), TypeError, ("GRU", "dropout")),
    Row("RNNCell-hidden-0", _ctor(lambda: nn.RNNCell(2, 0)), ValueError, ("RNNCell", "hidden_size")),
    Row("LSTMCell-input-0", _ctor(lambda: nn.LSTMCell(0, 2)), ValueError, ("LSTMCell", "input_size")),
    Row("GRUCell-str-size", _ctor(lambda: nn.GRUCell("2", 3)), TypeError, ("GRUCell", "input_size", "str")),
    Row("Linear-negative", _ctor(lambda: nn.Linear(-1, 2)), ValueError, ("Linear", "in_features", "-1")),
    Row("Linear-float", _ctor(lambda: nn.Linear(2.5, 2)), TypeError, ("Linear", "in_features", "2.5")),
    Row("Embedding-float", _ctor(lambda: nn.Embedding(3.0, 2)), TypeError, ("Embedding", "num_embeddings")),
    Row(
        "Embedding-padding",
        _ctor(lambda: nn.Embedding(3, 2, padding_idx=5)),
        ValueError,
        ("Embedding", "padding_idx", "5"),
    ),
    Row("LayerNorm-negative", _ctor(lambda: nn.LayerNorm(-2)), ValueError, ("LayerNorm", "-2")),
    Row("Dropout-p", _ctor(lambda: nn.Dropout(1.5)), ValueError, ("Dropout", "1.5")),
    Row("Dropout-str", _ctor(lambda: nn.Dropout("half")), TypeError, ("Dropout", "half")),
    Row(
        "MHA-embed-0",
        _ctor(lambda: nn.MultiheadAttention(0, 1)),
        ValueError,
        ("MultiheadAttention", "embed_dim"),
    ),
    Row(
        "MHA-heads-0",
        _ctor(lambda: nn.MultiheadAttention(4, 0)),
        ValueError,
        ("MultiheadAttention", "num_heads"),
    ),
    Row(
        "MHA-indivisible",
        _ctor(lambda: nn.MultiheadAttention(4, 3)),
        ValueError,
        ("MultiheadAttention", "divisible", "4", "3"),
    ),
    Row(
        "MHA-dropout",
        _ctor(lambda: nn.MultiheadAttention(4, 2, dropout=-0.1)),
        ValueError,
        ("MultiheadAttention", "dropout"),
    ),
    Row(
        "Additive-hidden-0",
        _ctor(lambda: nn.AdditiveAttention(3, 3, 0)),
        ValueError,
        ("AdditiveAttention", "hidden_dim"),
    ),
]

RECURRENT = []
for _cls in (nn.RNN, nn.GRU, nn.LSTM):
    _n = _cls.__name__
    _h = (lambda: (f64(*H0), f32(*H0))) if _cls is nn.LSTM else (lambda: f64(*H0))
    _np_h = (lambda: (np.zeros(H0, np.float32), f32(*H0))) if _cls is nn.LSTM else np.zeros(H0, np.float32)
    _bad_h = (lambda: (f32(2, 2, 5), f32(*H0))) if _cls is nn.LSTM else (lambda: f32(2, 2, 5))
    _make = lambda c=_cls: c(3, 5)  # noqa: E731
    RECURRENT += [
        Row(
            f"{_n}-float64-input",
            _layer_call(_make, lambda: f64(4, 2, 3)),
            TypeError,
            (f"{_n}: input dtype float64 does not match the weights' float32",),
        ),
        Row(
            f"{_n}-float64-hx",
            _layer_call(_make, lambda: f32(4, 2, 3), _h),
            TypeError,
            (_n, "h_0 dtype float64", "float32"),
        ),
        Row(
            f"{_n}-int-input",
            _layer_call(_make, lambda: mg.tensor(np.ones((4, 2, 3), np.int64))),
            TypeError,
            (_n, "input dtype int64", "float32"),
        ),
        Row(
            f"{_n}-bool-input",
            _layer_call(_make, lambda: mg.tensor(np.ones((4, 2, 3), bool))),
            TypeError,
            (_n, "input dtype bool", "float32"),
        ),
        Row(
            f"{_n}-numpy-hx",
            _layer_call(_make, lambda: f32(4, 2, 3), _np_h),
            TypeError,
            (_n, "h_0 must be a Tensor", "ndarray", "(1, 2, 5)"),
        ),
        Row(
            f"{_n}-hx-shape",
            _layer_call(_make, lambda: f32(4, 2, 3), _bad_h),
            ValueError,
            (_n, "h_0", "(1, 2, 5)", "(2, 2, 5)"),
        ),
        Row(
            f"{_n}-numpy-input",
            _layer_call(_make, np.zeros((4, 2, 3), np.float32)),
            TypeError,
            (_n, "input must be a Tensor", "ndarray"),
        ),
        Row(
            f"{_n}-features", _layer_call(_make, lambda: f32(4, 2, 7)), ValueError, (_n, "7", "input_size=3")
        ),
        Row(
            f"{_n}-lengths",
            _layer_call(_make, lambda: f32(4, 2, 3), None, [5, 1]),
            ValueError,
            (_n, "[1, 4]", "[5, 1]"),
        ),
    ]
RECURRENT += [
    Row(
        "LSTM-c0-float64",
        _layer_call(lambda: nn.LSTM(3, 5), lambda: f32(4, 2, 3), lambda: (f32(*H0), f64(*H0))),
        TypeError,
        ("LSTM", "c_0 dtype float64"),
    ),
    Row(
        "LSTM-hx-single",
        _layer_call(lambda: nn.LSTM(3, 5), lambda: f32(4, 2, 3), lambda: f32(*H0)),
        TypeError,
        ("LSTM", "pair", "(1, 2, 5)"),
    ),
    Row(
        "RNNCell-float64",
        _layer_call(lambda: nn.RNNCell(3, 5), lambda: f64(2, 3)),
        TypeError,
        ("RNNCell: input dtype float64 does not match the weights' float32",),
    ),
    Row(
        "LSTMCell-float64-h",
        _layer_call(lambda: nn.LSTMCell(3, 5), lambda: f32(2, 3), lambda: (f64(2, 5), f32(2, 5))),
        TypeError,
        ("LSTMCell", "h dtype float64"),
    ),
    Row(
        "LSTMCell-numpy-c",
        _layer_call(
            lambda: nn.LSTMCell(3, 5), lambda: f32(2, 3), lambda: (f32(2, 5), np.zeros((2, 5), np.float32))
        ),
        TypeError,
        ("LSTMCell", "c must be a Tensor", "ndarray"),
    ),
    Row(
        "GRUCell-int",
        _layer_call(lambda: nn.GRUCell(3, 5), lambda: mg.tensor(np.ones((2, 3), np.int64))),
        TypeError,
        ("GRUCell", "int64"),
    ),
    Row(
        "GRUCell-h-shape",
        _layer_call(lambda: nn.GRUCell(3, 5), lambda: f32(2, 3), lambda: f32(3, 5)),
        ValueError,
        ("GRUCell", "(2, 5)", "(3, 5)"),
    ),
]

LAYERS = [
    Row(
        "Linear-float64",
        _layer_call(lambda: nn.Linear(3, 2), lambda: f64(4, 3)),
        TypeError,
        ("Linear: input dtype float64 does not match the weights' float32",),
    ),
    Row(
        "Linear-numpy",
        _layer_call(lambda: nn.Linear(3, 2), np.zeros((4, 3), np.float32)),
        TypeError,
        ("Linear", "Tensor", "ndarray"),
    ),
    Row(
        "Linear-features",
        _layer_call(lambda: nn.Linear(3, 2), lambda: f32(4, 5)),
        ValueError,
        ("linear", "(4, 5)", "(2, 3)"),
    ),
    Row(
        "Embedding-float-index",
        _layer_call(lambda: nn.Embedding(4, 2), lambda: f32(3)),
        TypeError,
        ("embedding", "integers", "float32"),
    ),
    Row(
        "Embedding-range",
        _layer_call(lambda: nn.Embedding(4, 2), lambda: mg.tensor([1, 9])),
        IndexError,
        ("embedding", "9", "4"),
    ),
    Row(
        "LayerNorm-float64",
        _layer_call(lambda: nn.LayerNorm(3), lambda: f64(2, 3)),
        TypeError,
        ("LayerNorm", "float64", "float32"),
    ),
    Row(
        "LayerNorm-shape",
        _layer_call(lambda: nn.LayerNorm(3), lambda: f32(2, 4)),
        ValueError,
        ("layer_norm", "(2, 4)", "(3,)"),
    ),
    Row(
        "MHA-float64",
        _layer_call(
            lambda: nn.MultiheadAttention(4, 2),
            lambda: f64(3, 2, 4),
            lambda: f32(3, 2, 4),
            lambda: f32(3, 2, 4),
        ),
        TypeError,
        ("MultiheadAttention: query dtype float64 does not match the weights' float32",),
    ),
    Row(
        "MHA-numpy-key",
        _layer_call(
            lambda: nn.MultiheadAttention(4, 2),
            lambda: f32(3, 2, 4),
            np.zeros((3, 2, 4), np.float32),
            lambda: f32(3, 2, 4),
        ),
        TypeError,
        ("MultiheadAttention", "key", "ndarray"),
    ),
    Row(
        "MHA-embed",
        _layer_call(
            lambda: nn.MultiheadAttention(4, 2),
            lambda: f32(3, 2, 5),
            lambda: f32(3, 2, 5),
            lambda: f32(3, 2, 5),
        ),
        ValueError,
        ("MultiheadAttention", "query", "(3, 2, 5)"),
    ),
    Row(
        "MHA-padding-mask",
        _layer_call(
            lambda: nn.MultiheadAttention(4, 2),
            lambda: f32(3, 2, 4),
            lambda: f32(3, 2, 4),
            lambda: f32(3, 2, 4),
            key_padding_mask=np.zeros((2, 5), bool),
        ),
        ValueError,
        ("MultiheadAttention", "key_padding_mask", "(2, 3)", "(2, 5)"),
    ),
    Row(
        "Additive-float64",
        _layer_call(lambda: nn.AdditiveAttention(3, 4, 5), lambda: f32(2, 3), lambda: f64(2, 6, 4)),
        TypeError,
        ("AdditiveAttention: keys dtype float64 does not match the weights' float32",),
    ),
    Row(
        "Additive-query-shape",
        _layer_call(lambda: nn.AdditiveAttention(3, 4, 5), lambda: f32(2, 5), lambda: f32(2, 6, 4)),
        ValueError,
        ("AdditiveAttention", "query", "(2, 5)"),
    ),
    Row(
        "Additive-mask-dtype",
        _layer_call(
            lambda: nn.AdditiveAttention(3, 4, 5),
            lambda: f32(2, 3),
            lambda: f32(2, 6, 4),
            None,
            np.ones((2, 6), np.float32),
        ),
        TypeError,
        ("AdditiveAttention", "mask", "bool"),
    ),
]

FUNCTIONS = [
    Row(
        "softmax-axis",
        _fn_call(lambda x: x.softmax(5), lambda: f32(2, 3)),
        IndexError,
        ("softmax", "axis 5", "2"),
    ),
    Row("F.softmax-axis", _fn_call(F.softmax, lambda: f32(2, 3), -3), IndexError, ("softmax", "axis -3")),
    Row(
        "log_softmax-axis",
        _fn_call(lambda x: x.log_softmax(5), lambda: f32(2, 3)),
        IndexError,
        ("log_softmax", "axis 5"),
    ),
    Row(
        "F.log_softmax-axis",
        _fn_call(F.log_softmax, lambda: f32(2, 3), 2),
        IndexError,
        ("log_softmax", "axis 2"),
    ),
    Row("logsumexp-axis", _fn_call(mg.logsumexp, lambda: f32(2, 3), 5), IndexError, ("logsumexp", "axis 5")),
    Row(
        "cross_entropy-int-input",
        _fn_call(F.cross_entropy, lambda: mg.tensor([[1, 2]]), lambda: mg.tensor([0])),
        TypeError,
        ("cross_entropy", "int64"),
    ),
    Row(
        "cross_entropy-target-range",
        _fn_call(F.cross_entropy, lambda: f32(2, 3), lambda: mg.tensor([0, 7])),
        IndexError,
        ("cross_entropy", "7"),
    ),
    Row(
        "cross_entropy-reduction",
        _fn_call(F.cross_entropy, lambda: f32(2, 3), lambda: mg.tensor([0, 1]), reduction="avg"),
        ValueError,
        ("cross_entropy", "avg"),
    ),
    Row(
        "nll_loss-target-shape",
        _fn_call(F.nll_loss, lambda: f32(2, 3), lambda: mg.tensor([0, 1, 2])),
        ValueError,
        ("nll_loss", "(3,)"),
    ),
    Row(
        "mse_loss-shape",
        _fn_call(F.mse_loss, lambda: f32(2, 3), lambda: f32(3, 2)),
        ValueError,
        ("mse_loss", "(3, 2)", "(2, 3)"),
    ),
    Row(
        "bce-shape",
        _fn_call(F.binary_cross_entropy_with_logits, lambda: f32(2, 3), lambda: f32(2, 1)),
        ValueError,
        ("binary_cross_entropy_with_logits", "(2, 1)", "(2, 3)"),
    ),
    Row("dropout-p", _fn_call(F.dropout, lambda: f32(2, 3), 2.0), ValueError, ("dropout", "2.0")),
]


# ---------------------------------------------------------------------- optimizers
def _opt_step_bad_grad(cls: type, named: bool, **kw: Any) -> Setup:
    """One good step (so state exists), then a step where parameter 1 has a wrong grad."""

    def setup(tmp: Path) -> tuple[Callable[[], Any], list[Any]]:
        mg.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
        params = list(model.named_parameters()) if named else list(model.parameters())
        opt = cls(params, lr=0.1, **kw)
        model(f32(5, 3)).sum().backward()
        opt.step()
        model(f32(5, 3)).sum().backward()
        model[0].bias.grad = mg.zeros(3)  # parameter 1 ("0.bias", shape (4,))
        return opt.step, [model, opt]

    return setup


def _opt_load(cls: type, edit: Callable[[dict[str, Any]], None], **kw: Any) -> Setup:
    def setup(tmp: Path) -> tuple[Callable[[], Any], list[Any]]:
        mg.manual_seed(0)
        model = nn.Linear(3, 2)
        opt = cls(model.parameters(), lr=0.1, **kw)
        model(f32(5, 3)).sum().backward()
        opt.step()
        sd = opt.state_dict()
        edit(sd)
        return (lambda: opt.load_state_dict(sd)), [model, opt]

    return setup


def _bad_state_shape(sd: dict[str, Any]) -> None:
    key = next(k for k in sd["state"][0] if k != "step")
    sd["state"][0][key] = np.zeros((7, 7), np.float32)


def _extra_group(sd: dict[str, Any]) -> None:
    sd["param_groups"].append(dict(sd["param_groups"][0]))


def _bad_lr(sd: dict[str, Any]) -> None:
    sd["param_groups"][0]["lr"] = -1.0


OPTIMIZERS = []
for _cls, _kw in ((mg.optim.SGD, {"momentum": 0.9}), (mg.optim.Adam, {}), (mg.optim.AdamW, {})):
    _n = _cls.__name__
    OPTIMIZERS += [
        Row(
            f"{_n}-step-bad-grad",
            _opt_step_bad_grad(_cls, False, **_kw),
            ValueError,
            (f"{_n}.step", "parameter 1 of group 0", "(3,)", "(4,)"),
        ),
        Row(
            f"{_n}-step-bad-grad-named",
            _opt_step_bad_grad(_cls, True, **_kw),
            ValueError,
            (f"{_n}.step", "parameter 1 of group 0", "'0.bias'", "(3,)", "(4,)"),
        ),
        Row(
            f"{_n}-load-state-shape",
            _opt_load(_cls, _bad_state_shape, **_kw),
            ValueError,
            (_n, "(7, 7)", "(2, 3)"),
        ),
        Row(
            f"{_n}-load-groups",
            _opt_load(_cls, _extra_group, **_kw),
            ValueError,
            (_n, "2 parameter group", "1"),
        ),
        Row(f"{_n}-load-bad-lr", _opt_load(_cls, _bad_lr, **_kw), ValueError, (_n, "learning rate", "-1")),
        Row(
            f"{_n}-lr",
            _ctor(lambda c=_cls: c([mg.zeros(2, requires_grad=True)], lr=-1.0)),
            ValueError,
            (_n, "learning rate", "-1"),
        ),
        Row(
            f"{_n}-single-tensor",
            _ctor(lambda c=_cls: c(mg.zeros(2, requires_grad=True))),
            TypeError,
            (_n, "single Tensor"),
        ),
        Row(f"{_n}-empty", _ctor(lambda c=_cls: c([])), ValueError, (_n, "empty")),
    ]
OPTIMIZERS += [
    Row(
        "Adam-betas",
        _ctor(lambda: mg.optim.Adam([mg.zeros(2, requires_grad=True)], betas=(1.0, 0.9))),
        ValueError,
        ("Adam", "betas"),
    ),
    Row(
        "SGD-nesterov",
        _ctor(lambda: mg.optim.SGD([mg.zeros(2, requires_grad=True)], nesterov=True)),
        ValueError,
        ("SGD", "Nesterov"),
    ),
    Row(
        "SGD-non-leaf",
        _ctor(lambda: mg.optim.SGD([mg.zeros(2, requires_grad=True) * 2])),
        ValueError,
        ("SGD", "non-leaf"),
    ),
    Row(
        "SGD-mixed-named",
        _ctor(
            lambda: mg.optim.SGD([("a", mg.zeros(2, requires_grad=True)), mg.zeros(2, requires_grad=True)])
        ),
        TypeError,
        ("SGD", "(name, Tensor)"),
    ),
]


# ---------------------------------------------------------------------- modules
def _module_load(value: Any, key: str = "weight") -> Setup:
    def setup(tmp: Path) -> tuple[Callable[[], Any], list[Any]]:
        mg.manual_seed(0)
        model = nn.Linear(3, 2)
        sd = {k: v.numpy() for k, v in model.state_dict().items()}
        sd[key] = value
        return (lambda: model.load_state_dict(sd)), [model]

    return setup


def _module_to(device: Any) -> Setup:
    def setup(tmp: Path) -> tuple[Callable[[], Any], list[Any]]:
        model = nn.Linear(2, 2)
        return (lambda: model.to(device)), [model]

    return setup


MODULES = [
    Row(
        "state-structured",
        _module_load(np.zeros((2, 3), dtype=[("a", "f4"), ("b", "i4")])),
        TypeError,
        ("Linear", "'weight'", "dtype"),
    ),
    Row(
        "state-object",
        _module_load(np.zeros((2, 3), dtype=object)),
        TypeError,
        ("Linear", "'weight'", "object"),
    ),
    Row("state-strings", _module_load(np.full((2, 3), "x")), TypeError, ("Linear", "'weight'", "<U1")),
    Row(
        "state-complex", _module_load(np.zeros((2, 3), complex)), TypeError, ("Linear", "'weight'", "complex")
    ),
    Row("state-none", _module_load(None, "bias"), TypeError, ("Linear", "'bias'")),
    Row(
        "state-shape",
        _module_load(np.zeros((2, 4), np.float32)),
        ValueError,
        ("Linear", "'weight'", "(2, 4)", "(2, 3)"),
    ),
    Row("state-unexpected", _module_load(np.zeros(1), "extra"), KeyError, ("Linear", "extra")),
    Row(
        "to-unknown-device",
        _module_to("tpu"),
        ValueError,
        ("Linear.to", "tpu"),
    ),
]


# ---------------------------------------------------------------------- serialization
def _save(obj: Any, name: str = "ckpt.npz") -> Setup:
    def setup(tmp: Path) -> tuple[Callable[[], Any], list[Any]]:
        mg.save({"old": mg.ones(2)}, tmp / "ckpt.npz")
        return (lambda: mg.save(obj, tmp / name)), [tmp]

    return setup


def _load(write: Callable[[Path], None]) -> Setup:
    def setup(tmp: Path) -> tuple[Callable[[], Any], list[Any]]:
        path = tmp / "bad.npz"
        write(path)
        return (lambda: mg.load(path)), [tmp]

    return setup


def _truncated(path: Path) -> None:
    mg.save({"w": mg.ones(100)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _corrupt_member(path: Path) -> None:
    mg.save({"w": mg.ones(100)}, path)
    data = bytearray(path.read_bytes())
    data[200] ^= 0xFF  # inside w.npy's data: the CRC no longer matches
    path.write_bytes(bytes(data))


def _zip_with(name: str, payload: bytes) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(name, payload)

    return write


SERIALIZATION = [
    Row("save-float-key", _save({1.5: mg.ones(1)}), TypeError, ("save", "1.5", "float")),
    Row("save-tuple-key", _save({"model": {(1, 2): mg.ones(1)}}), TypeError, ("save", "(1, 2)", "'model'")),
    Row("save-nul-key", _save({"a\x00b": mg.ones(1)}), ValueError, ("save", "NUL")),
    Row(
        "save-colliding-keys",
        _save({"a/b": mg.ones(1), "a": {"b": mg.ones(1)}}),
        ValueError,
        ("save", "'a/b'"),
    ),
    Row("save-none", _save({"w": None}), TypeError, ("save", "'w'", "NoneType")),
    Row("save-complex", _save({"w": np.ones(2, complex)}), TypeError, ("save", "'w'", "complex")),
    Row("save-object", _save({"w": np.array([{}, 1], dtype=object)}), TypeError, ("save", "'w'", "object")),
    Row("save-not-dict", _save([mg.ones(1)]), TypeError, ("save", "dict", "list")),
    Row("save-missing-folder", _save({"w": mg.ones(1)}, "nope/x.npz"), FileNotFoundError, ("save", "nope")),
    Row("save-to-folder", _save({"w": mg.ones(1)}, "."), IsADirectoryError, ("save", "directory")),
    Row("load-missing", _load(lambda p: None), FileNotFoundError, ("bad.npz",)),
    Row("load-truncated", _load(_truncated), ValueError, ("load", "bad.npz", "truncated")),
    Row("load-crc", _load(_corrupt_member), ValueError, ("load", "bad.npz", "'w'")),
    Row(
        "load-npy",
        _load(lambda p: np.save(open(p, "wb"), np.ones(3))),
        ValueError,
        ("load", "bad.npz", ".npy"),
    ),
    Row(
        "load-pickle",
        _load(lambda p: p.write_bytes(b"\x80\x04\x95...")),
        ValueError,
        ("load", "bad.npz", "pickle"),
    ),
    Row("load-empty-file", _load(lambda p: p.write_bytes(b"")), ValueError, ("load", "bad.npz")),
    Row(
        "load-raw-member",
        _load(_zip_with("notes.txt", b"hello")),
        ValueError,
        ("load", "bad.npz", "'notes.txt'"),
    ),
    Row(
        "load-object",
        _load(lambda p: np.savez(p, payload=np.array([{}, None], dtype=object))),
        ValueError,
        ("load", "bad.npz", "'payload'", "pickled"),
    ),
    Row(
        "load-complex",
        _load(lambda p: np.savez(p, z=np.ones(2, complex))),
        ValueError,
        ("load", "bad.npz", "'z'", "complex"),
    ),
    Row(
        "load-structured",
        _load(lambda p: np.savez(p, s=np.zeros(2, dtype=[("a", "f4")]))),
        ValueError,
        ("load", "bad.npz", "'s'"),
    ),
    Row(
        "load-2d-strings",
        _load(lambda p: np.savez(p, s=np.full((2, 2), "x"))),
        ValueError,
        ("load", "bad.npz", "'s'", "<U1"),
    ),
    Row(
        "load-bytes",
        _load(lambda p: np.savez(p, b=np.array([b"ab"]))),
        ValueError,
        ("load", "bad.npz", "'b'", "S2"),
    ),
]

ROWS = CONSTRUCTORS + RECURRENT + LAYERS + FUNCTIONS + OPTIMIZERS + MODULES + SERIALIZATION


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_refusal_names_the_culprit_and_changes_nothing(row: Row, tmp_path: Path) -> None:
    call, watched = row.setup(tmp_path)
    before = snapshot(watched)
    with pytest.raises(row.exc) as info:
        call()
    message = str(info.value)
    missing = [w for w in row.words if w not in message]
    assert not missing, f"message {message!r} lacks {missing}"
    assert snapshot(watched) == before, "the refused call changed its inputs or state"


def test_row_ids_are_unique() -> None:
    ids = [r.id for r in ROWS]
    assert sorted({i for i in ids if ids.count(i) > 1}) == []


def test_snapshot_sees_a_change() -> None:
    """The unchanged-check could never fail if snapshot missed in-place updates."""
    model = nn.Linear(2, 2)
    opt = mg.optim.Adam(model.parameters(), lr=0.1)
    model(f32(3, 2)).sum().backward()
    before = snapshot([model, opt])
    opt.step()
    assert snapshot([model, opt]) != before


def test_module_to_accepts_the_spellings_tensor_to_accepts() -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.LayerNorm(3))
    for spelling in ("CPU", "cpu", " Cpu "):
        assert model.to(spelling) is model
        assert all(p.device == mg.tensor([1.0]).to(spelling).device == "cpu" for p in model.parameters())
    model.to("float64")
    assert all(p.dtype == np.float64 for p in model.parameters())


@pytest.mark.parametrize("cls", [nn.RNN, nn.GRU, nn.LSTM])
def test_matching_dtypes_are_accepted(cls: type) -> None:
    """The dtype checks refuse only mismatches: a float64 layer takes float64 input."""
    mg.manual_seed(0)
    layer = cls(3, 5).double()
    x = f64(4, 2, 3)
    h = f64(*H0)
    out, _ = layer(x, (h, f64(*H0)) if cls is nn.LSTM else h)
    assert out.dtype == np.float64 and out.shape == (4, 2, 5)
    out32, _ = cls(3, 5)(f32(4, 2, 3))
    assert out32.dtype == np.float32
