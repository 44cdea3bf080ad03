"""mg.save / mg.load: round trips, no pickle, atomic writes."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def test_module_state_dict_round_trip(tmp_path: Path) -> None:
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 2, dtype=np.float64))
    path = tmp_path / "model.npz"
    mg.save(model.state_dict(), path)
    loaded = mg.load(path)
    assert sorted(loaded) == sorted(model.state_dict())
    assert path.stat().st_mode & 0o644 == 0o644  # readable like any file open() makes
    assert all(isinstance(v, np.ndarray) for v in loaded.values())
    assert loaded["0.weight"].dtype == np.float32 and loaded["2.weight"].dtype == np.float64
    mg.manual_seed(1)
    fresh = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 2, dtype=np.float64))
    fresh.load_state_dict(loaded)
    for (name, p), (_, q) in zip(model.named_parameters(), fresh.named_parameters(), strict=True):
        assert p.dtype == q.dtype, name
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_nested_dicts_and_numbers_are_flattened(tmp_path: Path) -> None:
    obj = {"epoch": 3, "model": {"w": mg.ones(2)}, "groups": [{"lr": 0.1, "betas": (0.9, 0.99)}]}
    mg.save(obj, tmp_path / "ckpt.npz")
    loaded = mg.load(tmp_path / "ckpt.npz")
    assert sorted(loaded) == ["epoch", "groups/0/betas", "groups/0/lr", "model/w"]
    assert loaded["epoch"] == 3 and loaded["groups/0/betas"].tolist() == [0.9, 0.99]
    assert mg.serialization.unflatten(loaded)["model"]["w"].tolist() == [1.0, 1.0]


def test_pickled_npz_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.npz"
    np.savez(path, payload=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(ValueError, match="'payload' .* pickled objects"):
        mg.load(path)


def test_unsavable_values_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="value for key 'name' is a NoneType"):
        mg.save({"name": None}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="expected a dict"):
        mg.save([mg.ones(2)], tmp_path / "x.npz")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        mg.save({"a": mg.ones(1)}, tmp_path / "missing" / "x.npz")
    assert list(tmp_path.iterdir()) == []


def test_failed_save_keeps_old_file_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.npz"
    mg.save({"w": mg.ones(3)}, path)
    before = path.read_bytes()

    def broken_writer(file: BinaryIO, arrays: dict[str, np.ndarray]) -> None:
        file.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(mg.serialization, "_writer", broken_writer)
    with pytest.raises(OSError, match="disk full"):
        mg.save({"w": mg.zeros(3)}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    monkeypatch.undo()
    assert mg.load(path)["w"].tolist() == [1.0, 1.0, 1.0]


def test_module_load_state_dict_errors_name_keys_and_shapes() -> None:
    model = nn.Linear(3, 2)
    sd = {k: v.numpy() for k, v in model.state_dict().items()}
    with pytest.raises((KeyError, RuntimeError, ValueError), match="bias"):
        model.load_state_dict({"weight": sd["weight"]})
    with pytest.raises((KeyError, RuntimeError, ValueError), match="extra"):
        model.load_state_dict({**sd, "extra": np.zeros(1)})
    with pytest.raises(
        (RuntimeError, ValueError), match=r"(?s)weight.*(\(2, 4\).*\(2, 3\)|\(2, 3\).*\(2, 4\))"
    ):
        model.load_state_dict({**sd, "weight": np.zeros((2, 4))})
    model.load_state_dict({"weight": sd["weight"]}, strict=False)
