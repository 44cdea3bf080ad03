"""minigrad: a small reverse-mode autograd library for sequence models (NumPy / CuPy)."""

import numpy as _np

from . import (  # noqa: E402
    _malloc,  # noqa: F401  (tunes malloc once: freed step-sized blocks are reused)
    autograd,
    cuda,
    distributed,  # data parallel; imports mpi4py only in distributed.init()
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
from .compile import compile  # the function shadows the subpackage's name (torch.compile)
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
    maximum,
    mean,
    min,
    minimum,
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
    "Tensor",
    "abs",
    "arange",
    "argmax",
    "argmin",
    "autograd",
    "broadcast_to",
    "cat",
    "chunk",
    "clamp",
    "clip",
    "cuda",
    "detect_anomaly",
    "distributed",
    "enable_grad",
    "exp",
    "expand",
    "flatten",
    "full",
    "get_default_device",
    "get_default_dtype",
    "is_grad_enabled",
    "log",
    "log_softmax",
    "logsumexp",
    "manual_seed",
    "masked_fill",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "name_scope",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "permute",
    "rand",
    "randint",
    "randn",
    "relu",
    "reshape",
    "set_default_device",
    "set_default_dtype",
    "sigmoid",
    "softmax",
    "split",
    "sqrt",
    "squeeze",
    "stack",
    "sum",
    "swapaxes",
    "tanh",
    "tensor",
    "transpose",
    "unsqueeze",
    "var",
    "where",
    "zeros",
    "zeros_like",
    "load",
    "optim",
    "save",
    "serialization",
    "viz",
]

from .ops.elementwise_extra import (  # noqa: E402
    acos,
    acosh,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    cos,
    cosh,
    deg2rad,
    erf,
    exp2,
    expm1,
    hypot,
    log1p,
    log2,
    log10,
    rad2deg,
    reciprocal,
    remainder,
    sign,
    sin,
    sinc,
    sinh,
    tan,
    tril,
    triu,
)

# dtype names (NumPy dtypes), PyTorch's spellings
float32 = _np.float32
float = _np.float32  # noqa: A001
float64 = _np.float64
double = _np.float64
float16 = _np.float16
half = _np.float16
int64 = _np.int64
long = _np.int64
int32 = _np.int32
int = _np.int32  # noqa: A001 - torch.int is int32
bool = _np.bool_  # noqa: A001

__all__ += ["compile"]
__all__ += [
    "acos", "acosh", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh",
    "asin", "asinh", "atan", "atan2", "atanh", "cos", "cosh", "deg2rad", "erf", "exp2", "expm1",
    "hypot", "log1p", "log2", "log10", "rad2deg", "reciprocal", "remainder", "sign", "sin",
    "sinc", "sinh", "tan", "tril", "triu",
    "float32", "float", "float64", "double", "float16", "half", "int64", "long", "int32", "int",
    "bool",
]
