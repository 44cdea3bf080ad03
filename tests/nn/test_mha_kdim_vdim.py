"""MultiheadAttention with key/value widths other than embed_dim: PyTorch's parameter
layout (q/k/v_proj_weight), outputs and gradients from the committed fixtures."""

from __future__ import annotations

import numpy as np
import pytest
from nn_reference import assert_close
from recurrent_reference import fixture_names, leaf, load, state_dict

import minigrad as mg
from minigrad import nn

F64 = np.float64
CASES = fixture_names("mha_kv_")


def test_fixtures_cover_every_case() -> None:
    assert len(CASES) == 2


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("case", CASES)
def test_matches_pytorch(case: str, compiled: bool) -> None:
    ref = load(case)
    cfg = {k[4:]: ref[k].item() for k in ref if k.startswith("cfg.")}
    mha = nn.MultiheadAttention(cfg["embed_dim"], 2, bias=cfg["bias"], batch_first=cfg["batch_first"],
                                kdim=cfg["kdim"], vdim=cfg["vdim"], dtype=F64).compile(compiled)
    sd = state_dict(ref)
    assert list(sd) == list(mha.state_dict())  # PyTorch's names and order
    mha.load_state_dict(sd)
    q, k, v = leaf(ref["q"]), leaf(ref["k"]), leaf(ref["v"])
    out, weights = mha(q, k, v, key_padding_mask=mg.tensor(ref["key_padding_mask"]),
                       attn_mask=mg.tensor(ref["attn_mask"], dtype=F64),
                       average_attn_weights=False)
    assert_close(out, ref["out.out"], "output")
    assert_close(weights, ref["out.weights"], "weights")
    loss = (out * mg.tensor(ref["g.out"], dtype=F64)).sum() + \
        (weights * mg.tensor(ref["g.weights"], dtype=F64)).sum()
    loss.backward()
    for name, t in (("q", q), ("k", k), ("v", v)):
        assert_close(t.grad, ref[f"grad.{name}"], f"grad of {name}")
    for name, p in mha.named_parameters():
        assert_close(p.grad, ref[f"grad.p.{name}"], f"grad of {name}")


def test_wrong_key_width_is_refused_naming_kdim() -> None:
    mha = nn.MultiheadAttention(6, 2, kdim=4, vdim=5)
    q = mg.zeros(3, 1, 6)
    with pytest.raises(ValueError, match=r"key of shape \(seq, batch, 4\)"):
        mha(q, mg.zeros(2, 1, 6), mg.zeros(2, 1, 5))
    assert "kdim=4, vdim=5" in repr(mha)
    assert mha.in_proj_weight is None and mha.k_proj_weight.shape == (6, 4)
