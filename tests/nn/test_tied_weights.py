"""Tied (shared) parameters in state_dict, load_state_dict and parameters()."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


class TiedLM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Embedding(7, 4)
        self.rnn = nn.LSTM(4, 4)
        self.decoder = nn.Linear(4, 7)
        self.decoder.weight = self.encoder.weight

    def forward(self, tokens: mg.Tensor) -> mg.Tensor:
        out, _ = self.rnn(self.encoder(tokens))
        return self.decoder(out)


def test_state_dict_lists_a_tied_weight_under_both_names_and_parameters_once() -> None:
    model = TiedLM()
    sd = model.state_dict()
    assert "encoder.weight" in sd and "decoder.weight" in sd
    np.testing.assert_array_equal(sd["encoder.weight"].data, sd["decoder.weight"].data)
    params = list(model.parameters())
    assert len(params) == len({id(p) for p in params})
    assert sum(p is model.encoder.weight for p in params) == 1
    names = [n for n, _ in model.named_parameters()]
    assert "decoder.weight" not in names  # PyTorch's named_parameters lists it once too
    # PyTorch's order: each module's parameters, then its children's
    assert list(sd)[:2] == ["encoder.weight", "rnn.weight_ih_l0"]
    assert list(sd)[-2:] == ["decoder.weight", "decoder.bias"]


def test_load_state_dict_loads_both_names_and_keeps_the_tie() -> None:
    src, dst = TiedLM(), TiedLM()
    dst.load_state_dict(src.state_dict())
    np.testing.assert_array_equal(dst.encoder.weight.data, src.encoder.weight.data)
    assert dst.decoder.weight is dst.encoder.weight
    tokens = mg.tensor([[1, 2], [3, 4]])
    np.testing.assert_allclose(dst(tokens).data, src(tokens).data)


def test_checkpoint_listing_a_tied_weight_once_still_loads_strictly() -> None:
    src, dst = TiedLM(), TiedLM()
    sd = src.state_dict()
    del sd["decoder.weight"]
    result = dst.load_state_dict(sd)
    assert result.missing_keys == []
    np.testing.assert_array_equal(dst.decoder.weight.data, src.encoder.weight.data)


def test_different_values_for_one_tied_tensor_are_refused_and_nothing_changes() -> None:
    src, dst = TiedLM(), TiedLM()
    sd = {k: v.numpy().copy() for k, v in src.state_dict().items()}
    sd["decoder.weight"] = sd["decoder.weight"] + 1.0
    before = {k: v.numpy().copy() for k, v in dst.state_dict().items()}
    with pytest.raises(ValueError, match="'encoder.weight' and 'decoder.weight'.*different"):
        dst.load_state_dict(sd)
    for k, v in dst.state_dict().items():
        np.testing.assert_array_equal(v.data, before[k])


def test_shared_submodule_appears_under_both_prefixes() -> None:
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.Linear(2, 2), lin)
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias",
                                      "2.weight", "2.bias"]
    assert len(list(seq.parameters())) == 4


def test_save_and_load_round_trip_keeps_both_names(tmp_path) -> None:
    src, dst = TiedLM(), TiedLM()
    path = tmp_path / "tied.npz"
    mg.save(src.state_dict(), path)
    dst.load_state_dict(mg.load(path))
    np.testing.assert_array_equal(dst.decoder.weight.data, src.decoder.weight.data)
