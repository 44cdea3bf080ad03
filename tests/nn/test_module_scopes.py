"""Every Module call inside another module's forward records its ops under
``"<attribute path> (<Class>)"``; the outermost call opens no scope."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg


class Stack(mg.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = mg.nn.ModuleList([mg.nn.Linear(2, 2), mg.nn.Linear(2, 2)])
        self.head = mg.nn.Sequential(mg.nn.Linear(2, 1))

    def forward(self, x: mg.Tensor, other: mg.nn.Module | None = None) -> mg.Tensor:
        for layer in self.layers:
            x = layer(x)
        if other is not None:
            x = other(x)
        return self.head(x)


def _scopes(root: mg.Tensor) -> set[str]:
    seen, stack, out = set(), [root.grad_fn], set()
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen or not hasattr(fn, "next"):
            continue
        seen.add(id(fn))
        out.add(fn.scope)
        stack.extend(e[0] for e in fn.next if e is not None)
    return out


def test_scopes_are_named_by_attribute_path_and_class() -> None:
    model = Stack()
    out = model(mg.randn(3, 2))
    scopes = _scopes(out)
    assert {"layers.0 (Linear)", "layers.1 (Linear)"} <= scopes
    assert "head (Sequential)/0 (Linear)" in scopes
    assert not any(s.startswith("Stack") for s in scopes)  # the outermost call opens none


def test_a_module_its_caller_does_not_hold_is_named_by_its_class() -> None:
    model, stranger = Stack(), mg.nn.Linear(2, 2)
    scopes = _scopes(model(mg.randn(3, 2), stranger))
    assert "Linear" in scopes


def test_a_module_added_after_the_first_call_is_found() -> None:
    model = Stack()
    model(mg.randn(1, 2))
    model.layers.append(mg.nn.Linear(2, 2))
    assert "layers.2 (Linear)" in _scopes(model(mg.randn(1, 2)))


def test_recurrent_layers_keep_their_own_scopes_under_the_module_scope() -> None:
    class Model(mg.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = mg.nn.LSTM(2, 3)

        def forward(self, x: mg.Tensor) -> mg.Tensor:
            return self.rnn(x)[0]

    assert "rnn (LSTM)/lstm/l0/fwd/t1" in _scopes(Model()(mg.randn(2, 1, 2)))
    assert "lstm/l0/fwd/t1" in _scopes(mg.nn.LSTM(2, 3)(mg.randn(2, 1, 2))[0])


def test_the_scope_is_closed_when_forward_raises() -> None:
    model = Stack()
    with pytest.raises(ValueError, match="linear"):
        model(mg.tensor(np.ones((3, 5), dtype=np.float32)))
    assert mg.autograd.context.current_scope() == ""
    assert "layers.0 (Linear)" in _scopes(model(mg.randn(1, 2)))


def test_composite_functions_record_under_their_name_and_compute_the_same() -> None:
    import minigrad.nn.functional as F

    x = mg.randn(4, 5, requires_grad=True)
    target = mg.tensor(np.array([0, 1, 2, 3]))
    loss = F.cross_entropy(x, target)
    assert _scopes(loss) == {"cross_entropy()", "cross_entropy()/log_softmax()"}
    logp = x.data - np.log(np.exp(x.data).sum(1, keepdims=True))
    np.testing.assert_allclose(loss.item(), -logp[np.arange(4), [0, 1, 2, 3]].mean(), rtol=1e-5)
    assert F.cross_entropy.__name__ == "cross_entropy" and "logits" in F.cross_entropy.__doc__
