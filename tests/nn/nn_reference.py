"""Load the committed PyTorch fixtures (``tests/fixtures/nn_*.npz``) case by case."""

from __future__ import annotations

from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def load_cases(name: str) -> dict[str, dict[str, np.ndarray]]:
    """``{case: {field: array}}`` from the keys ``<case>__<field>`` of ``<name>.npz``."""
    cases: dict[str, dict[str, np.ndarray]] = {}
    with np.load(FIXTURES / f"{name}.npz", allow_pickle=False) as f:
        for key in f.files:
            case, field = key.split("__", 1)
            cases.setdefault(case, {})[field] = f[key]
    return cases


def options(case: dict[str, np.ndarray]) -> dict[str, object]:
    """The ``opt_*`` fields as keyword arguments (0-d arrays become Python values)."""
    return {
        k[4:]: (v.item() if v.ndim == 0 else v) for k, v in case.items() if k.startswith("opt_")
    }


def assert_close(actual: object, expected: np.ndarray, what: str = "") -> None:
    """float64 comparison against a PyTorch fixture at rtol 1e-7 (atol 1e-12 for exact
    zeros), naming ``what`` differs; ``actual`` is a Tensor or an array of the same shape."""
    value = actual.numpy() if hasattr(actual, "numpy") else np.asarray(actual)
    assert value.shape == np.shape(expected), f"{what}: shape {value.shape} != {np.shape(expected)}"
    np.testing.assert_allclose(value, expected, rtol=1e-7, atol=1e-12, err_msg=what)
