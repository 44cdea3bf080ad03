"""``mg.autograd.grad``: gradients of outputs with respect to chosen inputs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .engine import run_backward

if TYPE_CHECKING:
    from ..tensor import Tensor


def _as_list(x: Any) -> list:
    return list(x) if isinstance(x, list | tuple) else [x]


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """Sum of d(outputs)/d(inputs) weighted by ``grad_outputs``; ``.grad`` is untouched.

    With ``create_graph=True`` the returned gradients are differentiable (for
    Hessian-vector products, gradient penalties). An input the outputs do not depend on
    raises unless ``allow_unused=True``, in which case its gradient is None.
    """
    from ..backend import array_context
    from ..tensor import Tensor, _gradient_like

    outs = _as_list(outputs)
    ins = _as_list(inputs)
    for i, t in enumerate(ins):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"autograd.grad: input {i} does not require grad")
    if grad_outputs is None:
        gouts = [None] * len(outs)
    else:
        gouts = _as_list(grad_outputs)
        if len(gouts) != len(outs):
            raise ValueError(
                f"autograd.grad: got {len(gouts)} grad_outputs for {len(outs)} outputs"
            )
    root_grads = []
    for i, (o, g) in enumerate(zip(outs, gouts)):
        if g is None:
            if o.data.size != 1:
                raise RuntimeError(
                    f"autograd.grad: output {i} has shape {o.shape}; grad can be implicitly "
                    "created only for single-element outputs, pass grad_outputs"
                )
            g = Tensor._from_array(_ones_like(o.data))
        else:
            g = _gradient_like(g, o, "autograd.grad", f"grad_outputs[{i}]", f"output {i}")
            if g.shape != o.shape:
                raise ValueError(
                    f"autograd.grad: grad_outputs[{i}] has shape {g.shape}, output has {o.shape}"
                )
        root_grads.append(g)
    if retain_graph is None:
        retain_graph = create_graph
    with array_context(outs[0].data):  # the engine's own adds run on this device
        results = run_backward(outs, root_grads, retain_graph, create_graph, inputs=ins)
    for i, r in enumerate(results):
        if r is None and not allow_unused:
            raise RuntimeError(
                f"autograd.grad: input {i} (shape {ins[i].shape}) was not used to compute "
                "the outputs; pass allow_unused=True to get None for it"
            )
    return tuple(results)


def _ones_like(array: Any) -> Any:
    from ..backend import array_context, xp_of

    with array_context(array):
        return xp_of(array).ones_like(array)
