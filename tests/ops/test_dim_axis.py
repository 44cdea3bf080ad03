"""dim=/axis= and keepdim=/keepdims= are accepted by every axis-taking function and method."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F

X = np.random.default_rng(0).standard_normal((2, 3, 4))

REDUCTIONS = ["sum", "mean", "var", "max", "min", "argmax", "argmin"]


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("axis_word, keep_word", [("dim", "keepdim"), ("axis", "keepdims"),
                                                  ("dim", "keepdims"), ("axis", "keepdim")])
def test_reductions_take_both_spellings_as_methods_and_functions(name, axis_word, keep_word):
    t = mg.tensor(X)
    ref = getattr(mg, name)(t, 1, True).data  # positional: the one meaning
    np.testing.assert_array_equal(getattr(t, name)(**{axis_word: 1, keep_word: True}).data, ref)
    np.testing.assert_array_equal(getattr(mg, name)(t, **{axis_word: 1, keep_word: True}).data,
                                  ref)
    assert ref.shape == (2, 1, 4)


@pytest.mark.parametrize("word", ["dim", "axis"])
def test_shape_and_softmax_functions_take_both_spellings(word):
    t = mg.tensor(X)
    kw = {word: 1}
    assert mg.cat([t, t], **kw).shape == (2, 6, 4)
    assert mg.stack([t, t], **kw).shape == (2, 2, 3, 4)
    assert [p.shape for p in mg.split(t, 2, **kw)] == [(2, 2, 4), (2, 1, 4)]
    assert [p.shape for p in t.chunk(3, **kw)] == [(2, 1, 4)] * 3
    assert t.unsqueeze(**kw).shape == (2, 1, 3, 4)
    assert t[:, :1].squeeze(**kw).shape == (2, 4)
    expected = mg.softmax(t, 1).data
    for fn in (mg.softmax, F.softmax, lambda x, **k: x.softmax(**k)):
        np.testing.assert_allclose(fn(t, **kw).data, expected)
    for fn in (mg.log_softmax, F.log_softmax, lambda x, **k: x.log_softmax(**k)):
        np.testing.assert_allclose(fn(t, **kw).data, np.log(expected), rtol=1e-5)
    np.testing.assert_allclose(mg.logsumexp(t, **kw).data, np.log(np.exp(X).sum(1)), rtol=1e-5)
    assert t.swapaxes(**{f"{word}0": 0, f"{word}1": 2}).shape == (4, 3, 2)


def test_both_spellings_at_once_is_a_type_error_naming_the_function():
    t = mg.tensor(X)
    with pytest.raises(TypeError, match="sum: got both dim= and axis="):
        t.sum(dim=0, axis=1)
    with pytest.raises(TypeError, match="softmax: got both"):
        F.softmax(t, dim=0, axis=1)
