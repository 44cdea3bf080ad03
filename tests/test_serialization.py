"""mg.save / mg.load: round trips, no pickle, atomic writes."""

from __future__ import annotations

import io
import os
import signal
import stat
import subprocess
import sys
import threading
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


# ---------------------------------------------------------------------- keys and values
AWKWARD_KEYS = [
    "allow_pickle", "file", "args", "kwds", "", " ", "\n", "a/b", "../up", "/abs", "x.npy",
    "a\\b", "ключ.вес", "emoji-🙂", "a" * 300, "mmap_mode", "fix_imports",
]


def test_every_string_key_round_trips(tmp_path: Path) -> None:
    obj = {k: np.full(i + 1, i, dtype=np.int32) for i, k in enumerate(AWKWARD_KEYS)}
    path = tmp_path / "keys.npz"
    mg.save(obj, path)
    loaded = mg.load(path)
    assert sorted(loaded) == sorted(obj)
    for key, value in obj.items():
        np.testing.assert_array_equal(loaded[key], value, err_msg=repr(key))
    with np.load(path) as plain:  # an ordinary .npz: numpy reads the same keys
        assert sorted(plain.files) == sorted(obj)
        np.testing.assert_array_equal(plain["allow_pickle"], obj["allow_pickle"])


def test_module_with_a_parameter_named_file_saves(tmp_path: Path) -> None:
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.file = nn.Parameter(mg.ones(2))
            self.allow_pickle = nn.Parameter(mg.zeros(3))

    model = Odd()
    mg.save(model.state_dict(), tmp_path / "odd.npz")
    fresh = Odd()
    fresh.allow_pickle.data[:] = 7
    fresh.load_state_dict(mg.load(tmp_path / "odd.npz"))
    assert fresh.allow_pickle.numpy().tolist() == [0.0, 0.0, 0.0]


def test_strings_round_trip_and_int_keys_become_text(tmp_path: Path) -> None:
    obj = {"name": "encoder", "names": ["w", "b"], "state": {0: {"step": 3}}, "n": 2}
    mg.save(obj, tmp_path / "s.npz")
    loaded = mg.load(tmp_path / "s.npz")
    assert loaded["name"] == "encoder" and loaded["names"] == ["w", "b"]
    assert loaded["state/0/step"] == 3 and loaded["n"].shape == ()
    with pytest.raises(ValueError, match="both stored under the key 'state/0'"):
        mg.save({"state": {0: 1, "0": 2}}, tmp_path / "s.npz")


def test_optimizer_group_name_and_param_names_resume(tmp_path: Path) -> None:
    mg.manual_seed(0)
    model = nn.Linear(3, 2)
    x = mg.randn(4, 3)

    def make() -> mg.optim.Adam:
        params = list(model.named_parameters())
        return mg.optim.Adam([{"params": params[:1], "name": "weights"}, {"params": params[1:]}], lr=0.1)

    opt = make()
    model(x).sum().backward()
    opt.step()
    mg.save(opt.state_dict(), tmp_path / "opt.npz")
    again = make()
    again.load_state_dict(mg.load(tmp_path / "opt.npz"))
    assert again.param_groups[0]["name"] == "weights"
    assert again.param_groups[0]["param_names"] == ["weight"]
    for p in model.parameters():
        for key, value in opt.state[p].items():
            np.testing.assert_array_equal(np.asarray(again.state[p][key]), np.asarray(value))


# ---------------------------------------------------------------------- files
def test_replaced_file_keeps_its_mode_and_new_file_follows_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "secret.npz"
    mg.save({"w": mg.ones(2)}, path)
    path.chmod(0o600)
    mg.save({"w": mg.zeros(2)}, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o640)
    mg.save({"w": mg.zeros(2)}, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    old = os.umask(0o027)
    try:

        def no_umask(mask: int) -> int:
            raise AssertionError("save changed the process-wide umask")

        monkeypatch.setattr(os, "umask", no_umask)
        mg.save({"w": mg.ones(2)}, tmp_path / "new.npz")
    finally:
        monkeypatch.undo()
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.npz").stat().st_mode) == 0o640


def test_saving_through_a_symlink_updates_the_target(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    target = store / "real.npz"
    mg.save({"w": mg.ones(2)}, target)
    target.chmod(0o600)
    link = tmp_path / "latest.npz"
    link.symlink_to(os.path.relpath(target, tmp_path))
    mg.save({"w": mg.zeros(2)}, link)
    assert link.is_symlink() and os.readlink(link) == os.path.relpath(target, tmp_path)
    assert mg.load(target)["w"].tolist() == [0.0, 0.0]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in store.iterdir()) == ["real.npz"]  # temp went beside the target
    dangling = tmp_path / "dangling.npz"
    dangling.symlink_to(store / "later.npz")
    mg.save({"w": mg.ones(1)}, dangling)
    assert dangling.is_symlink() and mg.load(store / "later.npz")["w"].tolist() == [1.0]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temp_files_of_the_target_are_removed(tmp_path: Path) -> None:
    path = tmp_path / "ckpt.npz"
    stale = tmp_path / f".ckpt.npz.tmp-{_dead_pid()}-0a1b2c3d"
    mine = tmp_path / f".ckpt.npz.tmp-{os.getpid()}-deadbeef"  # this process, not in flight
    live = tmp_path / f".ckpt.npz.tmp-{os.getppid()}-00000000"  # a live writer: kept
    other = tmp_path / f".other.npz.tmp-{_dead_pid()}-11111111"  # another target: kept
    for p in (stale, mine, live, other):
        p.write_bytes(b"PK half")
    mg.save({"w": mg.ones(2)}, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, live.name, other.name])


def test_interrupt_mid_write_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.npz"
    mg.save({"w": mg.ones(3)}, path)
    before = path.read_bytes()
    real = mg.serialization._write_members

    def half_then_ctrl_c(file: BinaryIO, arrays: dict[str, np.ndarray]) -> None:
        buf = io.BytesIO()
        real(buf, arrays)
        file.write(buf.getvalue()[: len(buf.getvalue()) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(mg.serialization, "_writer", half_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        mg.save({"w": mg.zeros(3), "v": mg.ones(1000)}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


_HALF_SAVE = """
import io, sys, time
import minigrad as mg
from minigrad import serialization

def half_then_hang(file, arrays):
    buf = io.BytesIO()
    serialization._write_members(buf, arrays)
    file.write(buf.getvalue()[: len(buf.getvalue()) // 2])
    file.flush()
    print("half written", flush=True)
    time.sleep(120)

serialization._writer = half_then_hang
mg.save({"w": mg.zeros(100_000)}, sys.argv[1])
"""


def test_sigkill_mid_save_keeps_old_file_and_next_save_cleans_up(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    mg.save({"w": mg.ones(3)}, path)
    before = path.read_bytes()
    child = subprocess.Popen(
        [sys.executable, "-c", _HALF_SAVE, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "half written\n"
        temps = [p.name for p in tmp_path.iterdir() if p.name != "model.npz"]
        assert temps and all(t.startswith(f".model.npz.tmp-{child.pid}-") for t in temps)
        assert path.read_bytes() == before
        mg.save({"w": mg.ones(4)}, path)  # a live writer's temp file is left alone
        assert [p.name for p in tmp_path.iterdir() if p.name != "model.npz"] == temps
        before = path.read_bytes()
    finally:
        child.kill()
        child.wait()
        assert child.stdout is not None
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert path.read_bytes() == before
    assert mg.load(path)["w"].tolist() == [1.0] * 4
    assert [p.name for p in tmp_path.iterdir() if p.name != "model.npz"] == temps  # stale now
    mg.save({"w": mg.zeros(2)}, path)
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    assert mg.load(path)["w"].tolist() == [0.0, 0.0]


def test_saves_from_several_threads_do_not_delete_each_others_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "shared.npz"
    errors: list[BaseException] = []

    def writer(value: float) -> None:
        try:
            for _ in range(10):
                mg.save({"w": mg.full((2000,), value)}, path)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(float(i),)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [p.name for p in tmp_path.iterdir()] == ["shared.npz"]
    assert len(set(mg.load(path)["w"].tolist())) == 1  # one whole write, never a mixture
