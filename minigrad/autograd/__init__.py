"""Graph recording, the backward engine, scopes and checks (``mg.autograd``)."""

from .context import (
    current_scope,
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    name_scope,
    no_grad,
    scope_path,
    set_grad_enabled,
)
from .function import Function, OpError
from .grad import grad
from .gradcheck import GradcheckError, gradcheck

__all__ = [
    "Function", "GradcheckError", "OpError", "current_scope", "detect_anomaly",
    "enable_grad", "grad", "gradcheck", "is_grad_enabled", "name_scope", "no_grad",
    "scope_path", "set_grad_enabled",
]
