"""Replay of a traced Plan: the compiled call is one Function in the eager graph."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..autograd.context import enable_grad, scope_path, state
from ..autograd.function import Function
from .fuse import Group, kernel_for
from .trace import Plan

if TYPE_CHECKING:
    from ..tensor import Tensor


def run_steps(steps: list, vals: list, plan: Plan | None = None, device: str = "cpu") -> None:
    """Evaluate ``steps`` (Steps and fused Groups) in order on the slot list ``vals``."""
    for step in steps:
        if type(step) is Group:
            kernel = kernel_for(step, plan.shapes, device)
            if kernel is None:
                run_steps(step.steps, vals)
                continue
            for slot, value in zip(step.outs, kernel(*[vals[i] for i in step.ins])):
                vals[slot] = value
            continue
        fn, ins = step.fn, step.ins
        if len(ins) == 1:
            out = fn.forward(vals[ins[0]])
        elif len(ins) == 2:
            out = fn.forward(vals[ins[0]], vals[ins[1]])
        else:
            out = fn.forward(*[vals[i] for i in ins])
        if step.multi:
            for slot, value in zip(step.outs, out):
                vals[slot] = value
        else:
            vals[step.outs[0]] = out


def run_forward(plan: Plan, arrays: tuple) -> tuple[list, tuple]:
    """Slots after the forward tape, and the outputs (arrays)."""
    vals: list[Any] = [None] * plan.n_slots
    vals[: plan.n_inputs] = arrays
    for slot, value in plan.constants.items():
        vals[slot] = value
    run_steps(plan.forward_run, vals, plan, _device(arrays[0]))
    return vals, tuple(vals[i] for i in plan.out_slots)


class CompiledCall(Function):
    """One call of a compiled function: forward replays the traced forward tape, backward
    the traced backward tape (the primitives' own gradient formulas, recorded once).

    ``plan`` (the traced tapes), ``eager`` (the original function, for the fallback) and
    ``rebuild`` are attributes given by ``apply``. With ``create_graph=True`` backward
    re-runs the function eagerly on the saved inputs and differentiates that, so higher
    derivatives and their numbers are the eager ones."""

    save_inputs = True
    save_output = True

    def forward(self, *arrays: Any) -> Any:
        plan: Plan = self.plan
        vals, outs = run_forward(plan, arrays)
        if plan.backward:
            self.kept = {i: vals[i] for i in plan.keep}
        return outs if len(outs) > 1 else outs[0]

    @property
    def name(self) -> str:
        """``Compiled[fn]``: what the graph picture calls the node."""
        return f"Compiled[{getattr(self.eager, '__name__', 'fn')}]"

    @property
    def inner_ops(self) -> list[str]:
        """The primitives the node replays, forward then backward, in order (its traced
        graph is ``self.plan``: ``plan.forward`` and ``plan.backward`` tapes)."""
        return [s.fn.name for s in self.plan.forward] + [s.fn.name for s in self.plan.backward]

    def backward(self, *grads: Any) -> Any:
        plan: Plan = self.plan
        if state.grad_enabled or not plan.backward:
            return self._eager_backward(grads)
        vals: list[Any] = [None] * plan.n_slots
        for i, v in self.kept.items():
            vals[i] = v
        for slot, value in plan.constants.items():
            vals[slot] = value
        base = plan.n_inputs
        for k, g in enumerate(grads):
            if g is None:
                out = self.out if plan.n_outputs == 1 else self.out[k]
                vals[base + k] = _zeros_like(out)
            else:
                vals[base + k] = g.data
        run_steps(plan.backward_run, vals, plan, _device(vals[base]))
        from ..autograd.function import _wrap

        result = tuple(None if s is None or not need else _wrap(vals[s], None, 0)
                       for s, need in zip(plan.grad_slots, self.needs_input_grad))
        return result if len(result) > 1 else result[0]

    def eager_outputs(self) -> tuple[Tensor, ...]:
        """Re-run the original function eagerly on this node's own input Tensors (so the
        graph upstream is shared), recording with grad on under the scope this node was
        made in: the eager ops get the scope paths they would have had uncompiled.
        Returns the eager output Tensors, output ``k`` of this node <-> element ``k``;
        their numbers are the compiled ones. For pictures (``mg.viz``) of the graph."""
        if "inputs" not in self.__dict__:
            raise RuntimeError(f"{self.name} (scope {self.scope!r}) was freed by a backward() "
                               "call: its eager graph cannot be rebuilt")
        with enable_grad(), scope_path(self.scope):
            result = self.eager(*self.rebuild(list(self.inputs)))
        outs = result if isinstance(result, tuple) else (result,)
        if len(outs) != self.n_out:
            raise RuntimeError(f"{self.name}: the eager function returned {len(outs)} "
                               f"outputs, the compiled node has {self.n_out}")
        return outs

    def _eager_backward(self, grads: tuple) -> Any:
        from ..autograd.grad import grad as autograd_grad

        inputs = self.inputs
        with_grad = [t for t, need in zip(inputs, self.needs_input_grad) if need]
        from ..tensor import Tensor

        fresh = []
        for t, need in zip(inputs, self.needs_input_grad):
            fresh.append(t if need else Tensor._from_array(t.data))
        result = self.eager(*self.rebuild(fresh))
        outs = result if isinstance(result, tuple) else (result,)
        pairs = [(o, g) for o, g in zip(outs, grads) if g is not None and o.requires_grad]
        if not pairs:
            return (None,) * len(inputs) if len(inputs) > 1 else None
        got = iter(autograd_grad([o for o, _ in pairs], with_grad, [g for _, g in pairs],
                                 create_graph=True, allow_unused=True))
        result = tuple(next(got) if need else None for need in self.needs_input_grad)
        return result if len(result) > 1 else result[0]

    def release(self) -> None:
        """Drop the kept forward values along with what every op drops."""
        super().release()
        self.__dict__.pop("kept", None)


def _zeros_like(a: Any) -> Any:
    from ..backend import xp_of

    return xp_of(a).zeros_like(a)


def _device(array: Any) -> str:
    return "cpu" if type(array).__module__.startswith("numpy") else "cuda"
