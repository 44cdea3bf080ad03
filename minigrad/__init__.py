"""minigrad: a small reverse-mode autograd library for sequence models (NumPy / CuPy)."""

from . import (  # noqa: E402
    autograd,
    cuda,
    nn,  # noqa: E402,I001  (nn builds on everything above)
    optim,
    serialization,
    viz,  # noqa: E402,I001  (viz reads graphs; imports autograd and tensor only)
)
from .autograd import detect_anomaly, enable_grad, is_grad_enabled, name_scope, no_grad
from .backend import (
    get_default_device,
    get_default_dtype,
    manual_seed,
    set_default_device,
    set_default_dtype,
)
from .creation import (
    arange,
    full,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    tensor,
    zeros,
    zeros_like,
)
from .ops import (
    abs,
    argmax,
    argmin,
    broadcast_to,
    cat,
    chunk,
    clip,
    exp,
    expand,
    flatten,
    log,
    log_softmax,
    logsumexp,
    masked_fill,
    matmul,
    max,
    mean,
    min,
    permute,
    relu,
    reshape,
    sigmoid,
    softmax,
    split,
    sqrt,
    squeeze,
    stack,
    sum,
    swapaxes,
    tanh,
    transpose,
    unsqueeze,
    var,
    where,
)
from .serialization import load, save  # noqa: E402
from .tensor import Tensor

clamp = clip

__version__ = "0.1.0"

__all__ = [
    "Tensor", "abs", "arange", "argmax", "argmin", "autograd", "broadcast_to", "cat",
    "chunk", "clamp", "clip", "cuda", "detect_anomaly", "enable_grad", "exp", "expand",
    "flatten", "full", "get_default_device", "get_default_dtype", "is_grad_enabled", "log",
    "log_softmax", "logsumexp", "manual_seed", "masked_fill", "matmul", "max", "mean", "min",
    "name_scope", "nn", "no_grad", "ones", "ones_like", "permute", "rand", "randint", "randn",
    "relu", "reshape", "set_default_device", "set_default_dtype", "sigmoid", "softmax",
    "split", "sqrt", "squeeze", "stack", "sum", "swapaxes", "tanh", "tensor", "transpose",
    "unsqueeze", "var", "where", "zeros", "zeros_like",
    "load", "optim", "save", "serialization", "viz",
]
