"""``scope_path``: record under a given scope path, whatever scope is open."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import current_scope, scope_path


def _x() -> mg.Tensor:
    return mg.tensor(np.ones(2), requires_grad=True)


def test_ops_inside_get_the_given_path_not_the_open_one() -> None:
    x = _x()
    with mg.name_scope("outer"):
        with scope_path("lstm/l0/fwd/t3") as path:
            y = x * 2
            with mg.name_scope("gate"):
                z = y + 1
        w = z * 1
    assert path == "lstm/l0/fwd/t3"
    assert y.grad_fn.scope == "lstm/l0/fwd/t3"
    assert z.grad_fn.scope == "lstm/l0/fwd/t3/gate"
    assert w.grad_fn.scope == "outer"
    assert current_scope() == ""


def test_the_empty_path_is_the_top_level() -> None:
    with mg.name_scope("outer"), scope_path(""):
        y = _x() * 2
    assert y.grad_fn.scope == ""


def test_the_old_path_comes_back_after_an_error() -> None:
    with mg.name_scope("outer"):
        with pytest.raises(KeyError), scope_path("a/b"):
            raise KeyError("boom")
        assert current_scope() == "outer"


@pytest.mark.parametrize("bad", ["a//b", "/a", "a/"])
def test_a_path_with_an_empty_name_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="scope_path"), scope_path(bad):
        pass
    assert current_scope() == ""
