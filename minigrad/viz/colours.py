"""The gradient-norm colour scale: lightened viridis on a log10 axis."""

from __future__ import annotations

import math

# viridis at ten evenly spaced points: dark purple (vanishing) to yellow (exploding)
_VIRIDIS = (
    (0x44, 0x01, 0x54), (0x48, 0x28, 0x78), (0x3E, 0x49, 0x89), (0x31, 0x68, 0x8E),
    (0x26, 0x82, 0x8E), (0x1F, 0x9E, 0x89), (0x35, 0xB7, 0x79), (0x6E, 0xCE, 0x58),
    (0xB5, 0xDE, 0x2B), (0xFD, 0xE7, 0x25),
)
ZERO_COLOUR = "#c8c8c8"
_TINT = 0.45  # share of white mixed in, so black edges and labels stay readable on top


def colormap(x: float) -> str:
    """The (lightened) viridis colour at ``x`` in [0, 1] as ``#rrggbb``."""
    x = min(1.0, max(0.0, x)) * (len(_VIRIDIS) - 1)
    i = min(int(x), len(_VIRIDIS) - 2)
    f = x - i
    a, b = _VIRIDIS[i], _VIRIDIS[i + 1]
    rgb = (a[k] + (b[k] - a[k]) * f for k in range(3))
    return "#" + "".join(f"{round(c + (255 - c) * _TINT):02x}" for c in rgb)


def norm_position(norm: float, norm_range: tuple[float, float]) -> float:
    """Where ``norm`` sits on the log10 scale ``norm_range``, in [0, 1]."""
    lo, hi = norm_range
    return (math.log10(norm) - lo) / (hi - lo)


def decade_range(norms: list[float]) -> tuple[float, float] | None:
    """The whole decades ``(lo, hi)`` (log10, ``hi > lo``) spanning the positive finite
    ``norms``; None when there are none."""
    positive = [v for v in norms if v > 0 and math.isfinite(v)]
    if not positive:
        return None
    lo = math.floor(math.log10(min(positive)))
    hi = math.ceil(math.log10(max(positive)))
    return float(lo), float(hi if hi > lo else lo + 1)


def norm_colour(norm: float, norm_range: tuple[float, float] | None) -> str:
    """The fill of a gradient norm: grey for zero, non-finite or no scale."""
    if norm > 0 and math.isfinite(norm) and norm_range is not None:
        return colormap(norm_position(norm, norm_range))
    return ZERO_COLOUR
