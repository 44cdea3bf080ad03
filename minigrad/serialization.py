"""``save`` / ``load``: state dicts as ``.npz`` files, without pickle, written atomically.

A state dict is a mapping from ``str`` to arrays (Tensors, numpy or cupy arrays, Python
numbers, strings). Nested mappings and lists, such as an optimizer's state dict, are
flattened with ``"/"`` between the levels (``"state/0/exp_avg"``, ``"param_groups/0/lr"``);
module keys use ``"."`` and are stored unchanged. ``load`` returns that flat dict of numpy
arrays (and ``str`` / ``list[str]`` for string values), and ``Optimizer.load_state_dict``
accepts it as it is (``unflatten`` rebuilds the nesting for anything else).

The file is an ordinary ``.npz`` (a zip of ``.npy`` members, one per key, no
compression), so ``numpy.load(path)`` reads it too. The members are written here with
``zipfile`` rather than with ``numpy.savez(file, **arrays)``: keyword arguments would
lose or clash with keys such as ``"file"`` or ``"allow_pickle"``.

Atomic write: the data go to a temporary file ``.<name>.tmp-<pid>-<random>`` beside
the target, which is flushed, fsynced and moved over the target with ``os.replace``.
A crash leaves that temporary file behind; the next save of the same target removes
every such file whose writing process is gone (the pid in its name is not alive, or is
this process but the file is not one of its saves in flight). The pid rule, rather
than an age limit, never deletes the file of a slow save that is still running; its
limits (a reused pid keeps a stale file until that process ends; pids of other machines
on a shared file system mean nothing here) are documented in ``docs/nn.md``.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import threading
import zipfile
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from . import backend

SEP = "/"
_MEMBER_SUFFIX = ".npy"

__all__ = ["save", "load", "flatten", "unflatten"]


# ---------------------------------------------------------------------- flattening
def _is_str_list(value: Any) -> bool:
    return isinstance(value, list | tuple) and bool(value) and all(isinstance(v, str) for v in value)


def _to_host_array(key: str, value: Any) -> np.ndarray:
    from .tensor import Tensor

    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, str) or _is_str_list(value):
        # Strings (an optimizer group's "name", "param_names") are unicode arrays: no pickle.
        return np.asarray(value, dtype=np.str_)
    if backend.is_array(value):
        array = backend.to_device(value, "cpu")
    elif isinstance(value, bool | int | float | np.generic) or (
        isinstance(value, list | tuple) and all(isinstance(v, bool | int | float) for v in value)
    ):
        array = np.asarray(value)
    else:
        raise TypeError(
            f"save: value for key {key!r} is a {type(value).__name__}; expected a Tensor, "
            "an array, a number, a string, a list of numbers or of strings, or a nested "
            "dict of those"
        )
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"save: value for key {key!r} has dtype {array.dtype}; only bool, integer and "
            "float arrays (and Python strings) can be saved without pickle"
        )
    return array


def _key_text(key: Any, prefix: str) -> str:
    """A key as it is stored: strings as they are, ints (an optimizer's parameter
    indices, list positions) in decimal; anything else is refused."""
    where = f" under {prefix!r}" if prefix else ""
    if isinstance(key, str):
        if "\x00" in key:
            raise ValueError(
                f"save: key {key!r}{where} contains a NUL character, which a zip member "
                "name cannot hold"
            )
        return key
    if isinstance(key, int | np.integer) and not isinstance(key, bool | np.bool_):
        return str(int(key))
    raise TypeError(
        f"save: key {key!r}{where} is a {type(key).__name__}; keys must be strings "
        "(or ints, stored as their decimal string)"
    )


def flatten(obj: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Flatten a (possibly nested) state dict to ``{"a/b/c": host numpy array}``.

    Mappings and lists/tuples that hold mappings are walked; their keys (or indices)
    are joined with ``"/"``. A list or tuple of plain numbers becomes one array. Two
    entries that flatten to the same key are refused.
    """
    if not isinstance(obj, Mapping):
        raise TypeError(f"save: expected a dict (a state dict), got {type(obj).__name__}")
    flat: dict[str, np.ndarray] = {}
    stack: list[tuple[str | None, Any]] = [(None, obj)]
    while stack:
        prefix, node = stack.pop()
        if isinstance(node, Mapping):
            items = [(_key_text(k, prefix or ""), v) for k, v in node.items()]
        elif isinstance(node, list | tuple) and any(isinstance(v, Mapping) for v in node):
            items = [(str(i), v) for i, v in enumerate(node)]
        else:
            assert prefix is not None
            if prefix in flat:
                raise ValueError(
                    f"save: two entries are both stored under the key {prefix!r} (nested "
                    f"keys are joined with {SEP!r}); rename one of them"
                )
            flat[prefix] = _to_host_array(prefix, node)
            continue
        for k, v in reversed(items):
            stack.append((k if prefix is None else f"{prefix}{SEP}{k}", v))
    return flat


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of ``flatten`` for mappings: ``{"a/b": x}`` -> ``{"a": {"b": x}}``.

    List levels come back as dicts with string indices (``"0"``, ``"1"`` ...).
    """
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        *parents, leaf = key.split(SEP)
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"unflatten: key {key!r} nests under a value at {part!r}")
            node = child
        node[leaf] = value
    return out


# ---------------------------------------------------------------------- temporary files
_TMP_MARK = ".tmp-"
_in_flight: set[str] = set()  # temporary files this process is writing right now
_in_flight_lock = threading.Lock()


def _temp_prefix(name: str) -> str:
    """``.<name>.tmp-``, with ``name`` shortened so that the temporary name fits
    in 255 bytes (the usual limit on one path component)."""
    encoded = name.encode("utf-8", "surrogateescape")[:200]
    short = encoded.decode("utf-8", "ignore")
    return f".{short}{_TMP_MARK}"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there: assume alive
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    except OSError:
        return True  # cannot tell (e.g. no os.kill): keep the file
    return True


def _remove_stale_temps(folder: str, prefix: str) -> None:
    """Delete the temporary files of earlier saves of this target whose writer is gone."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    me = os.getpid()
    for entry in names:
        if not entry.startswith(prefix):
            continue
        pid_text = entry[len(prefix):].split("-", 1)[0]
        if not pid_text.isdigit():
            continue
        path = os.path.join(folder, entry)
        pid = int(pid_text)
        with _in_flight_lock:
            busy = path in _in_flight
        if busy or (pid != me and _pid_alive(pid)):
            continue
        try:
            if stat.S_ISREG(os.lstat(path).st_mode):
                os.unlink(path)
        except OSError:
            pass  # gone already, or not ours to delete: never fail a save over it


def _resolve_target(path: str | os.PathLike[str]) -> tuple[str, int | None]:
    """The file to replace (symlinks followed) and the mode to keep (None: a new file)."""
    given = os.fspath(path)
    if isinstance(given, bytes):
        given = os.fsdecode(given)
    target = os.path.realpath(given)
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            errno.ENOENT,
            f"save: folder {folder!r} does not exist (saving to {given!r})",
            given,
        )
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return target, None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, f"save: {given!r} is a directory", given)
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(
            f"save: {given!r} exists and is not a regular file (a device, socket or pipe); "
            "refusing to replace it"
        )
    return target, stat.S_IMODE(st.st_mode)


# ---------------------------------------------------------------------- writing
def _write_members(f: Any, arrays: Mapping[str, np.ndarray]) -> None:
    """Write an ``.npz``: one stored (uncompressed) ``<key>.npy`` member per key."""
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key, array in arrays.items():
            with zf.open(key + _MEMBER_SUFFIX, mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


# Replaceable in tests (fault injection): writes ``arrays`` into the open binary file.
_writer: Callable[[Any, Mapping[str, np.ndarray]], None] = _write_members


def save(obj: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Write a state dict to ``path`` as an ``.npz`` file (no pickle), atomically.

    Every string key round-trips (``load`` gives it back unchanged); int keys are
    stored as their decimal string; other keys are refused. Values: Tensors, numpy or
    cupy arrays (bool, int or float), Python numbers, strings, lists of numbers or of
    strings, and nested dicts/lists of those. ``path`` is used exactly as given (no
    ``.npz`` is appended). The data go to a temporary file in the target's folder,
    which is fsynced and moved into place with ``os.replace``: an error, Ctrl-C or a
    crash mid-write leaves any previous file intact. A symlink is followed and its
    target replaced; a replaced file keeps its permission bits, a new file gets what
    ``open()`` would give it (``0o666`` less the umask). Temporary files left by
    earlier crashed saves of the same target are removed.
    """
    arrays = flatten(obj)
    target, mode = _resolve_target(path)
    folder, name = os.path.split(target)
    prefix = _temp_prefix(name)
    _remove_stale_temps(folder, prefix)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(folder, f"{prefix}{os.getpid()}-{secrets.token_hex(4)}")
        with _in_flight_lock:  # reserved before it exists: another thread never deletes it
            _in_flight.add(tmp)
        try:
            # A new file: the kernel applies the umask to 0o666 (no process-wide umask
            # change). A replaced file: private until its own mode is restored below.
            fd = os.open(tmp, flags, 0o666 if mode is None else 0o600)
            break
        except BaseException as exc:
            with _in_flight_lock:
                _in_flight.discard(tmp)
            if not isinstance(exc, FileExistsError):
                raise
    try:
        with os.fdopen(fd, "wb") as f:
            _writer(f, arrays)
            f.flush()
            if mode is not None and hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        if mode is not None and not hasattr(os, "fchmod"):
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    finally:
        with _in_flight_lock:
            _in_flight.discard(tmp)
    _fsync_folder(folder)


def _fsync_folder(folder: str) -> None:
    """Make the rename durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------- reading
def _not_npz(path: str, head: bytes, exc: Exception) -> ValueError:
    if head.startswith(b"\x93NUMPY"):
        what = "a single .npy array, not an .npz archive (read it with numpy.load)"
    elif head[:1] == b"\x80":
        what = "a pickle (torch.save?), which mg.load refuses"
    elif head.startswith(b"PK"):
        what = "a damaged or truncated .npz archive"
    else:
        what = "not an .npz archive"
    return ValueError(f"load: {path!r} is {what} ({type(exc).__name__}: {exc})")


def _host_value(path: str, key: str, array: np.ndarray) -> Any:
    """Numeric arrays as they are, unicode arrays as ``str`` / ``list[str]``."""
    dt = array.dtype
    if dt.kind in "biuf" and dt.names is None and dt.subdtype is None:
        return array
    if dt.kind == "U" and array.ndim <= 1:
        return str(array[()]) if array.ndim == 0 else [str(s) for s in array.tolist()]
    raise ValueError(
        f"load: member {key!r} of {path!r} has dtype {dt} and shape {array.shape}; only "
        "bool, integer and float arrays (and strings) are loaded"
    )


def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a file written by ``save``: a flat dict ``{key: numpy array}``.

    Numeric (bool, int, float) arrays come back as numpy arrays, saved strings as
    ``str`` or ``list[str]``. Refused with a ``ValueError`` naming the file (and the
    member): anything that is not an ``.npz`` archive (a ``.npy`` file, a pickle, a
    truncated or damaged file), members that are not ``.npy`` arrays, pickled
    (object) arrays, and complex, structured, byte-string or other non-numeric arrays.
    """
    given = os.fspath(path)
    if isinstance(given, bytes):
        given = os.fsdecode(given)
    with open(given, "rb") as f:
        head = f.read(256)
        f.seek(0)
        try:
            zf = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
            raise _not_npz(given, head, exc) from exc
        with zf:
            out: dict[str, Any] = {}
            for info in zf.infolist():
                name = info.filename
                if not name.endswith(_MEMBER_SUFFIX) or info.is_dir():
                    raise ValueError(
                        f"load: member {name!r} of {given!r} is not a .npy array; a file "
                        "written by mg.save holds only .npy members"
                    )
                key = name[: -len(_MEMBER_SUFFIX)]
                if key in out:
                    raise ValueError(f"load: {given!r} holds the member {name!r} twice")
                try:
                    with zf.open(info) as member:
                        array = np.lib.format.read_array(member, allow_pickle=False)
                        if member.read(1):  # reading to the end also checks the CRC
                            raise ValueError("trailing bytes after the array data")
                except ValueError as exc:
                    if "pickle" in str(exc).lower():
                        raise ValueError(
                            f"load: member {key!r} of {given!r} holds pickled objects, which "
                            "are refused (only plain numeric arrays are loaded)"
                        ) from exc
                    raise ValueError(
                        f"load: member {key!r} of {given!r} is not a readable .npy array: {exc}"
                    ) from exc
                except (zipfile.BadZipFile, OSError, EOFError) as exc:
                    raise ValueError(
                        f"load: member {key!r} of {given!r} is damaged or truncated "
                        f"({type(exc).__name__}: {exc})"
                    ) from exc
                out[key] = _host_value(given, key, array)
    return out
