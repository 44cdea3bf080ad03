"""Higher-order gradients with ``create_graph=True``: a Hessian-vector product and a
gradient penalty through an LSTM, each checked against finite differences.

1. **Hessian-vector product.** For a loss ``L(w)`` the product ``H v`` is the gradient
   of ``g(w) . v`` where ``g = dL/dw``. Asking ``mg.autograd.grad`` for ``g`` with
   ``create_graph=True`` records the backward pass itself, so ``g . v`` can be
   differentiated again: two backward passes, never the ``n x n`` Hessian. The check:
   ``(g(w + eps v) - g(w - eps v)) / (2 eps)``, central differences of gradients.
2. **Gradient penalty.** ``P = || d(sum of LSTM outputs) / d(input) ||^2`` (as in
   WGAN-GP or input-gradient regularisation) depends on the weights *through a
   gradient*; ``P.backward()`` needs the second derivatives of every LSTM op. The check:
   central differences of ``P`` along a random direction in weight space.

Both run in float64 so that the finite differences are accurate; the last line prints
the worse of the two relative errors.

    python examples/higher_order.py --quick
"""

from __future__ import annotations

import argparse

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F


def mlp_loss(w1: mg.Tensor, w2: mg.Tensor, x: mg.Tensor, y: mg.Tensor) -> mg.Tensor:
    """A two-layer tanh network's squared error: a loss with a non-trivial Hessian."""
    return F.mse_loss((x @ w1).tanh() @ w2, y)


def hessian_vector_check(rng: np.random.Generator, device: str) -> float:
    """Relative error of the double-backward ``H v`` against central differences."""
    x = mg.tensor(rng.normal(size=(16, 5)), dtype=np.float64, device=device)
    y = mg.tensor(rng.normal(size=(16, 1)), dtype=np.float64, device=device)
    w1 = mg.tensor(rng.normal(size=(5, 8)) * 0.5, dtype=np.float64, device=device,
                   requires_grad=True)
    w2 = mg.tensor(rng.normal(size=(8, 1)) * 0.5, dtype=np.float64, device=device,
                   requires_grad=True)
    v1 = rng.normal(size=w1.shape)
    v2 = rng.normal(size=w2.shape)

    # H v by double backward.
    g1, g2 = mg.autograd.grad(mlp_loss(w1, w2, x, y), [w1, w2], create_graph=True)
    t1 = mg.tensor(v1, dtype=np.float64, device=device)
    t2 = mg.tensor(v2, dtype=np.float64, device=device)
    gv = (g1 * t1).sum() + (g2 * t2).sum()
    hv1, hv2 = mg.autograd.grad(gv, [w1, w2])
    hv = np.concatenate([hv1.numpy().ravel(), hv2.numpy().ravel()])

    # H v by central differences of the gradient.
    def grads_at(sign: float, eps: float = 1e-5) -> np.ndarray:
        a = mg.tensor(w1.numpy() + sign * eps * v1, dtype=np.float64, device=device,
                      requires_grad=True)
        b = mg.tensor(w2.numpy() + sign * eps * v2, dtype=np.float64, device=device,
                      requires_grad=True)
        ga, gb = mg.autograd.grad(mlp_loss(a, b, x, y), [a, b])
        return np.concatenate([ga.numpy().ravel(), gb.numpy().ravel()])

    fd = (grads_at(+1) - grads_at(-1)) / 2e-5
    err = float(np.abs(hv - fd).max() / np.abs(fd).max())
    print(f"Hessian-vector product: |Hv| = {np.linalg.norm(hv):.4f}, "
          f"max relative error vs finite differences {err:.2e}")
    return err


def penalty(lstm: nn.LSTM, x: mg.Tensor) -> mg.Tensor:
    """``|| d(sum of outputs) / dx ||^2``, kept differentiable (``create_graph=True``)."""
    out, _ = lstm(x)
    (gx,) = mg.autograd.grad(out.sum(), [x], create_graph=True)
    return (gx * gx).sum()


def gradient_penalty_check(rng: np.random.Generator, device: str, steps: int) -> float:
    """Backprop through the penalty into the LSTM weights; compare with finite differences."""
    mg.manual_seed(0)
    lstm = nn.LSTM(3, 6).to(device).double()
    x = mg.tensor(rng.normal(size=(steps, 2, 3)), dtype=np.float64, device=device,
                  requires_grad=True)
    p = penalty(lstm, x)
    lstm.zero_grad()
    p.backward()
    params = dict(lstm.named_parameters())
    direction = {k: rng.normal(size=q.shape) for k, q in params.items()}
    analytic = sum(float((q.grad.numpy() * direction[k]).sum()) for k, q in params.items())

    def penalty_at(sign: float, eps: float = 1e-6) -> float:
        saved = {k: q.data.copy() for k, q in params.items()}
        for k, q in params.items():
            q.data = q.data + sign * eps * mg.tensor(direction[k], dtype=np.float64,
                                                     device=device).data
        xx = mg.tensor(x.numpy(), dtype=np.float64, device=device, requires_grad=True)
        value = float(penalty(lstm, xx).item())
        for k, q in params.items():
            q.data = saved[k]
        return value

    fd = (penalty_at(+1) - penalty_at(-1)) / 2e-6
    err = abs(analytic - fd) / max(abs(fd), 1e-12)
    print(f"gradient penalty through an LSTM over {steps} steps: P = {p.item():.4f}, "
          f"directional derivative {analytic:.6f} vs finite differences {fd:.6f} "
          f"(relative error {err:.2e})")
    return err


def main(argv: list[str] | None = None) -> float:
    """Parse the command line, train, evaluate, print ``RESULT ...`` last; returns the metric."""
    p = argparse.ArgumentParser(description="Hessian-vector product and gradient penalty")
    p.add_argument("--quick", action="store_true", help="a shorter LSTM sequence")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    e1 = hessian_vector_check(rng, args.device)
    e2 = gradient_penalty_check(rng, args.device, steps=4 if args.quick else 12)
    worst = max(e1, e2)
    print(f"RESULT max_rel_error={worst:.3e}")
    return worst


if __name__ == "__main__":
    main()
