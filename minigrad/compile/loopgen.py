"""A traced step function, looped over time inside one generated numba function.

``scan`` (scan.py) traces a step ``carry' = step(x_t, carry, *consts)`` once (its
forward and, from the primitives' own gradient formulas, its backward: a ``Plan``).
This module writes that plan as two numba functions, the forward over all T steps and
the backward over them in reverse, so a time step costs no Python at all:

- elementwise primitives (``Add Sub Mul Div Neg Exp Log Tanh Sigmoid``) of one shape
  are fused into one loop nest; values used only inside it stay in registers;
- ``Split`` and ``Transpose`` are views: their readers index the base array directly;
- ``MatMul`` (2-D) is a call of NumPy's own ``cblas_?gemm`` (blas.py), a step's product in
  pieces OpenBLAS multiplies without packing (pieces.py); ``SumTo`` and ``Cat`` are loops;
- a carry takes its new value by trading arrays with the buffer it was made in, and the
  outputs ``Y[t]`` are stored by the loop that makes them (no copy loops);
- every buffer is allocated once before the loop; what the backward reads is written
  straight into ``(T, ...)`` arrays;
- float32 ``exp``/``tanh``/``sigmoid`` are vectorizable polynomials (fastmath.py),
  float64 ones are libm's.

A primitive outside that list raises ``Unsupported`` and the caller runs the step
another way (eagerly, or with ``mg.compile`` per step). The numbers are the eager
ones up to float rounding: BLAS is the same, sums run in another order.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import fuse
from .blas import NO_TRANS, ROW_MAJOR, TRANS, gemm_symbols, small_gemm_limit
from .trace import Plan, Step

__all__ = ["Layout", "LoopKernels", "Rows", "Unsupported", "concrete"]

SOURCE_VERSION = 10  # part of every generated file's text: bump to invalidate caches
# numba's disk cache of a generated file does not notice a change in the helpers it
# inlines, so their text's digest is part of the generated text too
_HELPERS = hashlib.sha1(b"".join(Path(__file__).with_name(f).read_bytes()
                                 for f in ("fastmath.py", "blas.py", "pieces.py"))).hexdigest()[:12]

_ELEMENTWISE = {
    "Add": "({0} + {1})", "Sub": "({0} - {1})", "Mul": "({0} * {1})", "Div": "({0} / {1})",
    "Neg": "(-{0})", "Exp": "{exp}({0})", "Log": "math.log({0})", "Tanh": "{tanh}({0})",
    "Sigmoid": "{sigmoid}({0})",
}
_MATH = {"f": {"exp": "exp32", "tanh": "tanh32", "sigmoid": "sigmoid32", "np": "np.float32"},
         "d": {"exp": "math.exp", "tanh": "math.tanh", "sigmoid": "sigmoid64", "np": "np.float64"}}


class Unsupported(Exception):
    """The plan holds something the loop generator cannot write (the caller falls back)."""


class Rows(int):
    """A dimension that is the batch's row count, left to run time: its value is the
    traced one, its text in generated code the name ``NB`` (read from the arrays), so
    one kernel serves every batch size. Arithmetic on it gives plain ints: the writer
    refuses (``Unsupported``) where it would have to compute with one."""

    def __repr__(self) -> str:
        return "NB"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return "NB"


def _fixed(*dims: int) -> None:
    """Refuse arithmetic on a run-time row count (see ``Rows``)."""
    if any(isinstance(d, Rows) for d in dims):
        raise Unsupported("an offset along the batch rows")


def same(a: tuple, b: tuple) -> bool:
    """Whether two shapes are one shape: equal values, and ``Rows`` where the other has
    ``Rows`` (``Rows(4) == 4`` as ints, but only one of them follows the batch)."""
    return len(a) == len(b) and all(
        x == y and isinstance(x, Rows) == isinstance(y, Rows) for x, y in zip(a, b))


def concrete(shape: tuple, rows: int) -> tuple[int, ...]:
    """``shape`` with its ``Rows`` dimensions set to ``rows``."""
    return tuple(rows if isinstance(d, Rows) else d for d in shape)


@dataclass(frozen=True)
class Layout:
    """How a step's flat inputs split: ``n_x`` per-step inputs, ``n_carry`` carried
    values (also its outputs, in order), ``n_const`` loop-invariant inputs."""
    n_x: int
    n_carry: int
    n_const: int
    reverse: bool
    masked: bool
    rows: bool = False  # the plan's shapes hold ``Rows``: the batch size is read at run time


@dataclass
class _View:
    base: int
    perm: tuple[int, ...]  # view axis k is base axis perm[k]
    offsets: tuple[int, ...]  # added to the base index, per base axis


class _Writer:
    """Writes one function body: where each slot lives and how to read it."""

    def __init__(self, plan: Plan, dt: str) -> None:
        self.plan = plan
        self.dt = dt
        self.math = _MATH[dt]
        self.views: dict[int, _View] = {}
        self.loc: dict[int, tuple[str, str]] = {}  # slot -> (array name, leading index)
        self.scalar: dict[int, str] = {}  # slot -> scalar local (constants, fused temps)
        self.setup: list[str] = []  # before the time loop
        self.body: list[str] = []  # inside it
        self.itemsize = 4 if dt == "f" else 8
        self.one, self.zero = f"{self.math['np']}(1.0)", f"{self.math['np']}(0.0)"
        self.consts: dict[int, str] = {}  # loop-invariant input slot -> its array's name
        self.transposed: dict[int, str] = {}  # const slot -> its contiguous transpose's name
        self.accumulate: dict[int, str] = {}  # product slot -> the gradient it adds into
        self.hoisted: set[int] = set()  # products summed over t by one GEMM after the loop
        self.after: list[str] = []  # after the time loop
        self.placed: dict[int, set[int]] = {}  # Cat output -> its parts (by position)
        # that are views into it, written in place by their makers
        self.lazy: dict[int, Step] = {}  # cheap elementwise values computed where read
        # slot -> arrays (with their leading index) a fused loop also stores it in, as it
        # makes it: "Y[t]" takes the first carry where it is computed, not in a copy loop
        self.also: dict[int, list[str]] = {}
        self.also_done: set[int] = set()

    # -- reading -----------------------------------------------------------------------
    def elem(self, slot: int, idx: list[str]) -> str:
        """The expression for ``slot[idx]`` (idx in the slot's own axes)."""
        if slot in self.scalar:
            return self.scalar[slot]
        lazy = self.lazy.get(slot)
        if lazy is not None:  # computed where it is read
            shape = self.plan.shapes[slot]
            args = [self.read(i, idx, shape) for i in lazy.ins]
            return _ELEMENTWISE[type(lazy.fn).__name__].format(*args, **self.math)
        view = self.views.get(slot)
        if view is not None:
            base_idx = ["0"] * len(view.offsets)
            for k, axis in enumerate(view.perm):
                base_idx[axis] = idx[k]
            base_idx = [f"{i} + {o}" if o else i for i, o in zip(base_idx, view.offsets)]
            return self.elem(view.base, base_idx)
        name, lead = self.loc[slot]
        parts = ([lead] if lead else []) + idx
        return f"{name}[{', '.join(parts)}]" if parts else f"{name}[()]"

    def read(self, slot: int, idx: list[str], shape: tuple[int, ...]) -> str:
        """``slot`` read at ``idx`` of a loop over ``shape``, broadcasting (numpy rules)."""
        own = self.plan.shapes[slot]
        if slot in self.scalar:
            return self.scalar[slot]
        lead = len(shape) - len(own)
        return self.elem(slot, [idx[lead + d] if n != 1 else "0" for d, n in enumerate(own)])

    def array(self, slot: int) -> str:
        """The array expression of a slot that has a buffer of its own."""
        if slot in self.views or slot not in self.loc:
            raise Unsupported("a whole-array write to a view")
        name, lead = self.loc[slot]
        return f"{name}[{lead}]" if lead else name

    def resolve(self, slot: int) -> tuple[int, list[tuple[int, int]]]:
        """The buffer under ``slot`` and, per buffer axis, (the slot axis it follows, offset)."""
        view = self.views.get(slot)
        if view is None:
            return slot, [(k, 0) for k in range(len(self.plan.shapes[slot]))]
        root, mapping = self.resolve(view.base)
        result = []
        for base_axis, off in mapping:
            k = view.perm.index(base_axis)
            result.append((k, off + view.offsets[base_axis]))
        return root, result

    def pointer(self, root: int, whole: bool = False) -> str:
        """The address of ``root``'s buffer (of all T steps' when ``whole``)."""
        if root in self.scalar or root not in self.loc:
            raise Unsupported("a matrix product of a constant")
        name, lead = self.loc[root]
        if lead and not whole:
            return f"({name}.ctypes.data + {lead} * {name}.strides[0])"
        return f"{name}.ctypes.data"

    def operand(self, slot: int, whole: bool = False) -> tuple[str, int, int]:
        """A 2-D slot as a BLAS operand: (address, transpose flag, leading dimension).
        A transposed constant is read from a contiguous transpose the caller passes
        (``W{j}T``): OpenBLAS multiplies small matrices faster without a transpose flag."""
        root, mapping = self.resolve(slot)
        rshape = self.plan.shapes[root]
        if len(rshape) != 2:
            raise Unsupported("a matrix product of a view of a non-2-D value")
        (k0, o0), (k1, o1) = mapping
        if o0:
            _fixed(rshape[1])
        if k0 == 1 and root in self.consts:
            name = self.transposed.setdefault(root, f"{self.consts[root]}T")
            offset = (o1 * rshape[0] + o0) * self.itemsize
            ptr = f"{name}.ctypes.data"
            return (f"{ptr} + {offset}" if offset else ptr), NO_TRANS, rshape[0]
        flag = NO_TRANS if k0 == 0 else TRANS
        offset = (o0 * rshape[1] + o1) * self.itemsize
        ptr = self.pointer(root, whole)
        return (f"{ptr} + {offset}" if offset else ptr), flag, rshape[1]

    # -- writing -----------------------------------------------------------------------
    def buffer(self, slot: int) -> None:
        """Give ``slot`` a scratch buffer allocated once, unless it has a place."""
        if slot not in self.loc and slot not in self.views:
            shape = self.plan.shapes[slot]
            self.setup.append(f"b{slot} = np.empty({shape!r}, {self.math['np']})")
            self.loc[slot] = (f"b{slot}", "")

    def constant(self, slot: int, value: Any) -> None:
        if np.ndim(value):
            raise Unsupported("an array constant")
        self.scalar[slot] = f"k{slot}"
        self.setup.append(f"k{slot} = {self.math['np']}({float(value)!r})")

    def loops(self, shape: tuple[int, ...], depth: int) -> tuple[list[str], str]:
        """Loop headers over ``shape`` at ``depth`` indents; the index names and body indent."""
        pad = "    " * depth
        for d, n in enumerate(shape):
            self.body.append(f"{pad}for i{d} in range({n}):")
            pad += "    "
        return [f"i{d}" for d in range(len(shape))], pad


def _is_elementwise(step: Step | Any) -> bool:
    return type(step.fn).__name__ in _ELEMENTWISE and not step.multi


def _groups(tape: list[Step], shapes: dict[int, tuple]) -> list[list[Step]]:
    """Consecutive elementwise steps of one output shape, and every other step alone."""
    runs: list[list[Step]] = []
    for step in tape:
        if (_is_elementwise(step) and runs and _is_elementwise(runs[-1][0])
                and same(shapes[runs[-1][0].outs[0]], shapes[step.outs[0]])):
            runs[-1].append(step)
        else:
            runs.append([step])
    return runs


_CHEAP = ("Add", "Sub", "Mul", "Neg")


def _final_readers(tape: list[Step]) -> tuple[dict[int, list[Step]], dict[int, int]]:
    """Per slot, the steps that read it, directly or through views (Split, Transpose);
    and per view made by the tape, the slot it is a view of."""
    readers: dict[int, list[Step]] = {}
    base: dict[int, int] = {}
    for step in tape:
        if type(step.fn).__name__ in ("Split", "Transpose"):
            for o in step.outs:
                base[o] = base.get(step.ins[0], step.ins[0])
            continue
        for i in step.ins:
            readers.setdefault(i, []).append(step)
            if i in base:
                readers.setdefault(base[i], []).append(step)
    return readers, base


def _write_tape(w: _Writer, tape: list[Step], needed: set[int], depth: int) -> None:
    """Write ``tape`` into ``w.body``: views, fused loop nests and the other primitives.
    ``needed``: slots that must reach memory whatever the tape does with them. A run of
    cheap ops (add, multiply) read only by later loop nests, as ``x_t + h @ W`` is read
    by the gates, gets no loop of its own: its readers compute it where they read it."""
    plan = w.plan
    runs = _groups(tape, plan.shapes)
    reader_run: dict[int, set[int]] = {}
    for k, run in enumerate(runs):
        for step in run:
            for i in step.ins:
                reader_run.setdefault(i, set()).add(k)
    final, view_base = _final_readers(tape)
    # a value needed after the tape (an output, a stored value), itself or through a
    # view, is computed when the tape runs: the copies after it (the carries' updates)
    # may overwrite what a lazy expression would read
    kept = {view_base.get(n, n) for n in needed} | set(needed)

    def lazy(slot: int) -> bool:
        got = final.get(slot)
        return (slot not in kept and slot not in w.loc and slot not in w.views and bool(got)
                and all(_is_elementwise(r) for r in got))

    pad = "    " * depth
    for k, run in enumerate(runs):
        step = run[0]
        name = type(step.fn).__name__
        if _is_elementwise(step):
            shape = plan.shapes[step.outs[0]]
            if not shape:
                raise Unsupported("an elementwise op on a 0-d value")
            if all(type(s.fn).__name__ in _CHEAP and lazy(s.outs[0]) for s in run):
                w.lazy.update((s.outs[0], s) for s in run)
                continue
            made = {s.outs[0] for s in run}
            keep = [o for o in made if o in needed or reader_run.get(o, set()) - {k}]
            for o in keep:
                w.buffer(o)
            idx, inner = w.loops(shape, depth)
            local: dict[int, str] = {}
            for s in run:
                args = [local.get(i) or w.read(i, idx, shape) for i in s.ins]
                expr = _ELEMENTWISE[type(s.fn).__name__].format(*args, **w.math)
                local[s.outs[0]] = f"v{s.outs[0]}"
                w.body.append(f"{inner}v{s.outs[0]} = {expr}")
            for o in keep:
                w.body.append(f"{inner}{w.elem(o, idx)} = v{o}")
                for dst in w.also.get(o, ()):
                    name, _, lead = dst.partition("[")
                    w.body.append(f"{inner}{name}[{lead[:-1]}, {', '.join(idx)}] = v{o}")
                    w.also_done.add(o)
        elif name == "Split":
            axis = step.fn.axis % len(plan.shapes[step.ins[0]])
            start = 0
            rank = len(plan.shapes[step.ins[0]])
            for out, n in zip(step.outs, step.fn.sizes):
                offsets = tuple(start if a == axis else 0 for a in range(rank))
                w.views[out] = _View(step.ins[0], tuple(range(rank)), offsets)
                start += n
        elif name == "Transpose":
            rank = len(plan.shapes[step.ins[0]])
            w.views[step.outs[0]] = _View(step.ins[0], tuple(a % rank for a in step.fn.axes),
                                          (0,) * rank)
        elif name == "MatMul":
            a, b = step.ins
            if len(plan.shapes[a]) != 2 or len(plan.shapes[b]) != 2:
                raise Unsupported("a MatMul that is not 2-D by 2-D")
            out = step.outs[0]
            (m, k), n = plan.shapes[a], plan.shapes[b][1]
            whole = out in w.hoisted  # sum_t A_t^T B_t == A^T B over all T steps' rows
            pa, ta, lda = w.operand(a, whole)
            pb, tb, ldb = w.operand(b, whole)
            beta = w.zero
            if out in w.accumulate:
                pc, ldc, beta = f"{w.accumulate[out]}.ctypes.data", n, w.one
            else:
                w.buffer(out)
                pc, _, ldc = w.operand(out)
            if whole or ta != NO_TRANS or tb != NO_TRANS:
                line = (f"_gemm({ROW_MAJOR}, {ta}, {tb}, {m}, {n}, {'T * ' if whole else ''}{k}, "
                        f"{w.one}, {pa}, {lda}, {pb}, {ldb}, {beta}, {pc}, {ldc})")
            else:  # a step's product: in pieces OpenBLAS runs unpacked (_mm, _PRELUDE)
                line = f"_mm({m}, {n}, {k}, {pa}, {lda}, {pb}, {ldb}, {beta}, {pc}, {ldc})"
            if whole:
                w.after.append("    " + line)
            else:
                w.body.append(pad + line)
        elif name == "SumTo":
            src, out = step.ins[0], step.outs[0]
            w.buffer(out)
            in_shape, shape = plan.shapes[src], plan.shapes[out]
            w.body.append(f"{pad}{w.array(out)}[...] = 0")
            idx, inner = w.loops(in_shape, depth)
            lead = len(in_shape) - len(shape)
            dst = [idx[lead + d] if n != 1 else "0" for d, n in enumerate(shape)]
            w.body.append(f"{inner}{w.elem(out, dst)} += {w.elem(src, idx)}")
        elif name == "Cat":
            out = step.outs[0]
            w.buffer(out)
            shape = plan.shapes[out]
            axis = step.fn.axis % len(shape)
            start = 0
            placed = w.placed.get(out, set())
            for n, part in enumerate(step.ins):
                pshape = plan.shapes[part]
                _fixed(pshape[axis])
                if n in placed:  # written in place by its maker
                    start += pshape[axis]
                    continue
                idx, inner = w.loops(pshape, depth)
                dst = [f"{i} + {start}" if d == axis and start else i for d, i in enumerate(idx)]
                w.body.append(f"{inner}{w.elem(out, dst)} = {w.elem(part, idx)}")
                start += pshape[axis]
        else:
            raise Unsupported(f"the primitive {name}")


def _place_cats(w: _Writer, tape: list[Step], needed: set[int]) -> None:
    """Make each part of a ``Cat`` that the tape computes (elementwise or a matrix
    product) a view into the ``Cat``'s buffer: the part is written in place and the
    ``Cat`` copies only the others. Other readers of a part read it there. A part two
    ``Cat`` s take (a GRU's gate gradients go to x's gradient and to ``h @ W_hh``'s)
    lives in the first; the second copies it."""
    plan = w.plan
    producer = {o: s for s in tape for o in s.outs}
    for step in tape:
        if type(step.fn).__name__ != "Cat" or len(set(step.ins)) != len(step.ins):
            continue
        out = step.outs[0]
        rank = len(plan.shapes[out])
        axis = step.fn.axis % rank
        if out in w.views or out in w.scalar or any(
                isinstance(plan.shapes[p][axis], Rows) for p in step.ins):
            continue
        placed, start = set(), 0
        for n, p in enumerate(step.ins):
            if (p in producer and p not in needed and p not in w.loc and p not in w.views
                    and p not in w.scalar and (_is_elementwise(producer[p])
                                               or type(producer[p].fn).__name__ == "MatMul")):
                w.views[p] = _View(out, tuple(range(rank)),
                                   tuple(start if a == axis else 0 for a in range(rank)))
                placed.add(n)
            start += plan.shapes[p][axis]
        if placed:
            w.buffer(out)
            w.placed[out] = placed


def _copy(w: _Writer, dst: str, src_slot: int | None, shape: tuple[int, ...], depth: int,
          op: str = "=", mask: str | None = None) -> None:
    """``dst[idx] op src[idx]`` over ``shape`` (``src`` None: zeros); ``mask``: an
    expression of ``i0`` choosing the rows that take the new value (others keep theirs)."""
    idx, inner = w.loops(shape, depth)
    name, _, lead = dst.partition("[")  # "K0[t]" -> K0[t, i0, i1], not a view per element
    here = f"{name}[{lead[:-1] + ', ' if lead else ''}{', '.join(idx)}]"
    value = "0" if src_slot is None else w.elem(src_slot, idx)
    if mask is None:
        w.body.append(f"{inner}{here} {op} {value}")
    else:
        w.body.append(f"{inner}{here} = {value} if {mask} else {here}")


def forward_source(plan: Plan, lay: Layout, dt: str) -> tuple[str, list[int], list[int]]:
    """The forward function's text, the slots it stores per step (``K`` arrays) in order,
    and the constants it reads transposed.

    ``fwd(X..., C..., W..., WT..., K..., Y, F..., M)``: X ``(T, *x_shape)``, C the
    initial carries, W the constants, WT contiguous transposes of some of them, K
    ``(T, *shape)`` per stored slot, Y ``(T, *carry0)`` the first carry after every
    step, F the final carries, M ``(T, rows)`` bool."""
    w = _Writer(plan, dt)
    nx, nc, nk = lay.n_x, lay.n_carry, lay.n_const
    for j in range(nx):
        w.loc[j] = (f"X{j}", "t")
    for j in range(nc):
        w.loc[nx + j] = (f"s{j}", "")
        w.setup.append(f"s{j} = C{j}.copy()")
    for j in range(nk):
        w.loc[nx + nc + j] = (f"W{j}", "")
        w.consts[nx + nc + j] = f"W{j}"
    for slot, value in plan.constants.items():
        w.constant(slot, value)
    views = _views_of(plan, plan.forward)
    # what the backward reads, as arrays: views are re-derived from their base there
    roots = sorted({_root(views, s) for s in plan.keep})
    stored = [s for s in roots if nx <= s < nx + nc or s >= plan.n_inputs + plan.n_outputs]
    for n, s in enumerate(stored):
        if s >= nx + nc:
            w.loc[s] = (f"K{n}", "t")
    w.body.append("    for step in range(T):")
    w.body.append("        t = T - 1 - step" if lay.reverse else "        t = step")
    for n, s in enumerate(stored):
        if s < nx + nc:  # a carry the backward reads: its value at the step's start
            _copy(w, f"K{n}[t]", s, plan.shapes[s], 2)
    _place_cats(w, plan.forward, set(stored) | set(plan.out_slots))
    if not lay.masked:
        w.also[plan.out_slots[0]] = ["Y[t]"]
    _write_tape(w, plan.forward, set(stored) | set(plan.out_slots), 2)
    carry_bufs = {nx + j for j in range(nc)}
    for j, out in enumerate(plan.out_slots):
        if _root(w.views, out) in carry_bufs:
            raise Unsupported("a step that returns one of its carries unchanged")
        if not same(plan.shapes[out], plan.shapes[nx + j]):  # (the eager loop lets it grow)
            raise Unsupported(f"a step whose new carry {j} has shape {plan.shapes[out]}, "
                              f"not its carry's {plan.shapes[nx + j]}")
    mask = "M[t, i0]" if lay.masked else None
    swaps = _swaps(w, plan.out_slots, lay.masked)
    for j, out in enumerate(plan.out_slots):
        if j not in swaps:
            _copy(w, f"s{j}", out, plan.shapes[nx + j], 2, mask=mask)
    w.body.extend(swaps.values())
    if plan.out_slots[0] not in w.also_done:
        _copy(w, "Y[t]", nx, plan.shapes[nx], 2)
    flipped = _transposed(w, nx + nc)
    params = ([f"X{j}" for j in range(nx)] + [f"C{j}" for j in range(nc)]
              + [f"W{j}" for j in range(nk)] + [f"W{j}T" for j in flipped]
              + [f"K{n}" for n in range(len(stored))]
              + ["Y"] + [f"F{j}" for j in range(nc)] + ["M"])
    head = [f"def fwd({', '.join(params)}):", "    T = Y.shape[0]"]
    if lay.rows:
        head.append("    NB = C0.shape[0]")
    tail = [f"    F{j}[...] = s{j}" for j in range(nc)]
    return _assemble(head, w, tail), stored, flipped


def _swaps(w: _Writer, news: list[int], masked: bool) -> dict[int, str]:
    """Carries that take their new value by trading arrays with the scratch buffer it was
    made in (``s0, b7 = b7, s0``) instead of a copy loop: per carry index, the line.
    Only where every row takes it (no mask) and the buffer is the value's alone; the
    buffer's maker writes all of it again next step before anything reads it."""
    if masked:
        return {}
    return {j: f"        s{j}, b{new} = b{new}, s{j}"
            for j, new in enumerate(news)
            if news.count(new) == 1 and new not in w.views and w.loc.get(new) == (f"b{new}", "")}


def _transposed(w: _Writer, first_const: int) -> list[int]:
    """The constants (by index) the function reads as contiguous transposes ``W{j}T``."""
    return sorted(slot - first_const for slot in w.transposed)


def _root(views: dict[int, _View], slot: int) -> int:
    while slot in views:
        slot = views[slot].base
    return slot


def _views_of(plan: Plan, tape: list[Step]) -> dict[int, _View]:
    """The views (``Split``, ``Transpose`` outputs) a tape makes, without writing code."""
    w = _Writer(plan, "d")
    for step in tape:
        if type(step.fn).__name__ in ("Split", "Transpose"):
            _write_tape(w, [step], set(), 0)
    return w.views


def backward_source(plan: Plan, lay: Layout, dt: str, stored: list[int]) -> tuple[str, list[int]]:
    """The backward function's text, and the constants it reads transposed.

    ``bwd(X..., W..., WT..., K..., GY, GF..., M, GX..., GW..., GC...)``: GY ``(T, *carry0)`` and
    GF the gradients of Y and of the final carries; writes GX (zeroed by the caller),
    adds into GW (zeroed by the caller), writes GC (the initial carries' gradients)."""
    w = _Writer(plan, dt)
    nx, nc, nk = lay.n_x, lay.n_carry, lay.n_const
    for j in range(nx):
        w.loc[j] = (f"X{j}", "t")
    for j in range(nk):
        w.loc[nx + nc + j] = (f"W{j}", "")
        w.consts[nx + nc + j] = f"W{j}"
    for n, s in enumerate(stored):
        w.loc[s] = (f"K{n}", "t")
    w.views.update(_views_of(plan, plan.forward))
    direct_x, direct_w = _place_gradients(w, lay)
    grads = plan.grad_slots
    seeds = {plan.n_inputs + j for j in range(nc)}
    # without a mask the step's tape reads the carries' gradients where they accumulate
    # (g), unless one of them passes a seed through unchanged (then g would change
    # under a later carry's update)
    direct_seeds = not lay.masked and all(
        grads[nx + j] is None or _root(w.views, grads[nx + j]) not in seeds for j in range(nc))
    for j in range(nc):
        w.setup.append(f"g{j} = GF{j}.copy()")
        if direct_seeds:
            w.loc[plan.n_inputs + j] = (f"g{j}", "")
        else:
            w.loc[plan.n_inputs + j] = (f"sd{j}", "")
            shape = plan.shapes[nx + j]
            w.setup.append(f"sd{j} = np.empty({shape!r}, {w.math['np']})")
    for slot, value in plan.constants.items():
        w.constant(slot, value)
    w.body.append("    for step in range(T):")
    w.body.append("        t = step if REVERSE else T - 1 - step".replace("REVERSE", str(lay.reverse)))
    carry0 = plan.shapes[nx]
    idx, inner = w.loops(carry0, 2)  # Y is the first carry: its gradient joins g0's
    w.body.append(f"{inner}g0[{', '.join(idx)}] += GY[t, {', '.join(idx)}]")
    mask = "M[t, i0]" if lay.masked else None
    for j in range(nc if not direct_seeds else 0):  # the step's output gradient: the
        idx, inner = w.loops(plan.shapes[nx + j], 2)  # carry's, on the rows it updated
        at = ", ".join(idx)
        value = f"g{j}[{at}] if {mask} else 0" if mask else f"g{j}[{at}]"
        w.body.append(f"{inner}sd{j}[{at}] = {value}")
    _place_cats(w, plan.backward, {g for g in grads if g is not None})
    _write_tape(w, plan.backward, {g for g in grads if g is not None}, 2)
    for j in range(nx):
        if grads[j] is not None and j not in direct_x:
            _copy(w, f"GX{j}[t]", grads[j], plan.shapes[j], 2)
    for j in range(nk):
        if grads[nx + nc + j] is not None and j not in direct_w:
            _copy(w, f"GW{j}", grads[nx + nc + j], plan.shapes[nx + nc + j], 2, op="+=")
    # (trading g with the buffer, as the forward does its carries, measured slower here:
    # LLVM then cannot tell the loop's arrays apart and leaves the gate loop scalar)
    for j in range(nc):  # rows the step left alone pass their gradient through
        idx, inner = w.loops(plan.shapes[nx + j], 2)
        at = ", ".join(idx)
        src = "0" if grads[nx + j] is None else w.elem(grads[nx + j], idx)
        keep = f" + (0 if {mask} else g{j}[{at}])" if mask else ""
        w.body.append(f"{inner}g{j}[{at}] = {src}{keep}")
    flipped = _transposed(w, nx + nc)
    params = ([f"X{j}" for j in range(nx)] + [f"W{j}" for j in range(nk)]
              + [f"W{j}T" for j in flipped]
              + [f"K{n}" for n in range(len(stored))] + ["GY"] + [f"GF{j}" for j in range(nc)]
              + ["M"] + [f"GX{j}" for j in range(nx)] + [f"GW{j}" for j in range(nk)]
              + [f"GC{j}" for j in range(nc)])
    head = [f"def bwd({', '.join(params)}):", "    T = GY.shape[0]"]
    if lay.rows:
        head.append("    NB = GF0.shape[0]")
    tail = w.after + [f"    GC{j}[...] = g{j}" for j in range(nc)]
    return _assemble(head, w, tail), flipped


def _place_gradients(w: _Writer, lay: Layout) -> tuple[set[int], set[int]]:
    """Give gradients their final homes before the backward tape is written, so no step
    copies them: a per-step input's gradient is written straight into ``GX[t]``; a
    constant's gradient that is a matrix product is added into ``GW`` by the product
    itself (GEMM with beta 1), and when both factors hold one row per batch row, as
    ``h_t^T @ dgates_t`` does, the T products become one GEMM over all ``T * B`` rows
    after the loop (the per-step factors are kept in ``(T, ...)`` arrays for it).
    Returns the per-step inputs and the constants so placed."""
    plan = w.plan
    nx, nc = lay.n_x, lay.n_carry
    grads = plan.grad_slots
    producer = {o: s for s in plan.backward for o in s.outs}
    readers: dict[int, int] = {}
    for s in plan.backward:
        for i in s.ins:
            readers[i] = readers.get(i, 0) + 1
    uses: dict[int, int] = {}
    for g in grads:
        if g is not None:
            uses[g] = uses.get(g, 0) + 1
    w.views.update(_views_of(plan, plan.backward))

    def writable(slot: int) -> bool:  # a buffer the backward tape writes whole, no home yet
        s = producer.get(slot)
        return (s is not None and slot not in w.loc and slot not in w.views
                and slot not in w.scalar and type(s.fn).__name__ not in ("Split", "Transpose"))

    direct_x = set()
    for j in range(nx):
        g = grads[j]
        if g is not None and uses[g] == 1 and writable(g):
            w.loc[g] = (f"GX{j}", "t")
            direct_x.add(j)
    direct_w = set()
    for j in range(lay.n_const):
        g = grads[nx + nc + j]
        s = producer.get(g)
        if (g is None or uses[g] != 1 or readers.get(g) or s is None
                or type(s.fn).__name__ != "MatMul" or not writable(g)):
            continue
        w.accumulate[g] = f"GW{j}"
        direct_w.add(j)
        factors = [w.resolve(i) for i in s.ins]
        # A (m, k) read transposed and B (k, n) read as is, both without a row offset:
        # the k rows are batch rows, and stacking the T steps' rows is one product
        k = plan.shapes[s.ins[1]][0]
        if not all(len(plan.shapes[root]) == 2 and mapping[0] == (want, 0)
                   and same(plan.shapes[root][:1], (k,))
                   for (root, mapping), want in zip(factors, (1, 0))):
            continue
        homes = [root for root, _ in factors]
        if all((w.loc.get(r, ("", ""))[1] == "t") or writable(r) for r in homes):
            for r in homes:
                if r not in w.loc:
                    w.setup.append(f"h{r} = np.empty((T, *{plan.shapes[r]!r}), {w.math['np']})")
                    w.loc[r] = (f"h{r}", "t")
            w.hoisted.add(g)
    return direct_x, direct_w



def _assemble(head: list[str], w: _Writer, tail: list[str]) -> str:
    return "\n".join(head + ["    " + s for s in w.setup] + w.body + tail) + "\n"


_PRELUDE = (
    "# generated by minigrad.compile.loopgen (version {version}, helpers {helpers}); do not edit\n"
    "import math\n\nimport numba\nimport numpy as np\nfrom numba import types\n\n"
    "from minigrad.compile.blas import gemm_symbols\n"
    "from minigrad.compile.fastmath import exp32, sigmoid32, sigmoid64, tanh32\n"
    "from minigrad.compile.pieces import pieces\n\n"
    "_gemm = types.ExternalFunction(gemm_symbols()[{char!r}], types.void(\n"
    "    types.int32, types.int32, types.int32, types.int64, types.int64, types.int64,\n"
    "    types.{ctype}, types.intp, types.int64, types.intp, types.int64, types.{ctype},\n"
    "    types.intp, types.int64))\n"
    "_SMALL = {small}  # M*N*K that OpenBLAS multiplies unpacked here (blas.small_gemm_limit)\n\n\n"
    '@numba.njit(inline="always", error_model="numpy")\n'
    "def _mm(m, n, k, pa, lda, pb, ldb, beta, pc, ldc):\n"
    "    # C = A @ B (+ beta C), row-major, untransposed, in pieces OpenBLAS runs unpacked\n"
    "    rows, cols = pieces(m, n, k, _SMALL)\n"
    "    for i in range(0, m, rows):\n"
    "        for j in range(0, n, cols):\n"
    "            _gemm(101, 111, 111, min(rows, m - i), min(cols, n - j), k, {one},\n"
    "                  pa + i * lda * {size}, lda, pb + j * {size}, ldb, beta,\n"
    "                  pc + (i * ldc + j) * {size}, ldc)\n\n\n"
)
# contract: a * b + c may be one fused multiply-add (rounded once, not twice)
_JIT = '@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})\n'


class LoopKernels:
    """The generated forward and backward loops of one step plan (one signature).

    ``forward(xs, init, consts, mask)`` -> ``(ys, finals, stored)``;
    ``backward(xs, consts, stored, gy, gfinals, mask, need)`` -> the gradients of xs,
    init and consts (None where ``need`` says no). ``xs`` are ``(T, *x_shape)``; ``mask``
    is None or ``(T, rows)`` bool (rows: the carries' first axis)."""

    compile_seconds = 0.0  # numba compile (or disk-cache load) time, all instances

    def __init__(self, plan: Plan, layout: Layout) -> None:
        dtypes = {np.dtype(d) for d in plan.dtypes.values()}
        if len(dtypes) != 1 or next(iter(dtypes)).char not in "fd":
            raise Unsupported(f"dtypes {sorted(map(str, dtypes))} (one float32 or float64 only)")
        if not fuse.numba_available():
            raise Unsupported("numba is not installed (the minigrad[jit] extra)")
        self.dtype = next(iter(dtypes))
        self.plan, self.layout = plan, layout
        if layout.masked and any(len(plan.shapes[layout.n_x + j]) < 1 for j in range(layout.n_carry)):
            raise Unsupported("a mask needs carries with a row axis")
        dt = self.dtype.char
        fwd, self.stored, self.fwd_t = forward_source(plan, layout, dt)
        bwd, self.bwd_t = (backward_source(plan, layout, dt, self.stored) if plan.backward
                           else (None, []))
        if dt not in gemm_symbols():
            raise Unsupported("NumPy's BLAS exports no cblas gemm to call")
        ctype = "float32" if dt == "f" else "float64"
        prelude = _PRELUDE.format(version=SOURCE_VERSION, helpers=_HELPERS, char=dt, ctype=ctype,
                                  small=small_gemm_limit(), one=f"np.{ctype}(1.0)",
                                  size=self.dtype.itemsize)
        self.source = prelude + _JIT + fwd
        if bwd is not None:
            self.source += "\n\n" + _JIT + bwd
        self.source += "\n\nk = (fwd, " + ("bwd" if bwd is not None else "None") + ")\n"
        self._fwd, self._bwd = fuse.build_cpu(self.source)
        self._dummy_mask = np.zeros((1, 1), dtype=bool)
        self._ran: set[Any] = set()  # the kernels that have run once (compiled or loaded)

    def _timed(self, fn: Any, *args: Any) -> None:
        if fn in self._ran:  # (numba's ``signatures`` costs ~20 µs a look)
            fn(*args)
            return
        t0 = time.perf_counter()
        fn(*args)  # compiles, or loads from the disk cache, for the first signature
        LoopKernels.compile_seconds += time.perf_counter() - t0
        self._ran.add(fn)

    def transposes(self, consts: list) -> dict[int, Any]:
        """Contiguous transposes of the constants the loops read transposed, from the
        caller's arrays (free when one is itself a transposed view, as ``W_hh^T`` is)."""
        return {j: np.ascontiguousarray(consts[j].T) for j in {*self.fwd_t, *self.bwd_t}}

    def forward(self, xs: list, init: list, consts: list, mask: Any, flipped: dict[int, Any]
                ) -> tuple[Any, list, list]:
        """Run the loop: the first carry after every step, the final carries, the stored
        values. ``flipped``: ``transposes()`` of the caller's constants."""
        plan, lay, dt = self.plan, self.layout, self.dtype
        steps = xs[0].shape[0]
        nx = lay.n_x
        rows = init[0].shape[0] if lay.rows else 0
        stored = [np.empty((steps, *concrete(plan.shapes[s], rows)), dt) for s in self.stored]
        ys = np.empty((steps, *concrete(plan.shapes[nx], rows)), dt)
        finals = [np.empty(concrete(plan.shapes[nx + j], rows), dt) for j in range(lay.n_carry)]
        m = self._dummy_mask if mask is None else mask
        self._timed(self._fwd, *xs, *init, *consts, *(flipped[j] for j in self.fwd_t), *stored,
                    ys, *finals, m)
        return ys, finals, stored

    def backward(self, xs: list, consts: list, stored: list, gy: Any, gfinals: list, mask: Any,
                 flipped: dict[int, Any]) -> tuple[list, list, list]:
        """Gradients of xs, of the initial carries and of the constants."""
        dt = self.dtype
        grads = self.plan.grad_slots
        gx = [np.zeros_like(x) if grads[j] is None else np.empty_like(x)  # written every step
              for j, x in enumerate(xs)]
        gw = [np.zeros(c.shape, dt) for c in consts]
        gc = [np.empty_like(g) for g in gfinals]
        m = self._dummy_mask if mask is None else mask
        self._timed(self._bwd, *xs, *consts, *(flipped[j] for j in self.bwd_t), *stored, gy,
                    *gfinals, m, *gx, *gw, *gc)
        return gx, gc, gw

