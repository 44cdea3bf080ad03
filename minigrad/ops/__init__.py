"""The ops. Primitives (Function subclasses with forward and backward):

elementwise  Add Sub Mul Div Neg Pow PowScalar Exp Log Sqrt Tanh Sigmoid Relu Abs Clip
             Maximum Minimum Where Cast
reduction    Sum Max
broadcast    BroadcastTo SumTo
shape        Reshape Transpose Cat Stack Split
indexing     GetItem IndexAdd
linalg       MatMul Linear
device       ToDevice

Everything else here (mean, min, var, softmax, log_softmax, squeeze, chunk, ...) is
composed from them.
"""

from .broadcast import broadcast_to, expand, sum_to
from .device import check_same_device, to_device
from .elementwise import (
    abs,
    add,
    as_tensor_like,
    cast,
    clip,
    div,
    eq,
    exp,
    ge,
    gt,
    le,
    log,
    lt,
    masked_fill,
    maximum,
    minimum,
    mul,
    ne,
    neg,
    pow,
    relu,
    sigmoid,
    sqrt,
    sub,
    tanh,
    where,
)
from .indexing import getitem, unwrap_index
from .linalg import linear, matmul
from .reduction import argmax, argmin, max, mean, min, sum, var
from .shape import (
    cat,
    chunk,
    flatten,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    swapaxes,
    transpose,
    unsqueeze,
)
from .softmax import log_softmax, logsumexp, softmax

__all__ = [
    "abs",
    "add",
    "argmax",
    "argmin",
    "as_tensor_like",
    "broadcast_to",
    "cast",
    "cat",
    "check_same_device",
    "chunk",
    "clip",
    "div",
    "eq",
    "exp",
    "expand",
    "flatten",
    "ge",
    "getitem",
    "gt",
    "le",
    "linear",
    "log",
    "log_softmax",
    "logsumexp",
    "lt",
    "masked_fill",
    "matmul",
    "max",
    "maximum",
    "minimum",
    "mean",
    "min",
    "mul",
    "ne",
    "neg",
    "permute",
    "pow",
    "relu",
    "reshape",
    "sigmoid",
    "softmax",
    "split",
    "sqrt",
    "squeeze",
    "stack",
    "sub",
    "sum",
    "sum_to",
    "swapaxes",
    "tanh",
    "to_device",
    "transpose",
    "unsqueeze",
    "unwrap_index",
    "var",
    "where",
]

from .._dimargs import dim_aliases  # noqa: E402
from . import inplace  # noqa: E402,F401  (the in-place methods of Tensor)
from ._coerce import normalize_axis  # noqa: E402,F401
from .activation import *  # noqa: E402,F403
from .activation import __all__ as _activation_all  # noqa: E402
from .elementwise_extra import *  # noqa: E402,F403
from .elementwise_extra import __all__ as _extra_all  # noqa: E402

# every axis-taking function accepts dim=/axis= and keepdim=/keepdims= (PyTorch's and NumPy's)
sum = dim_aliases(sum)  # noqa: A001
mean = dim_aliases(mean)
var = dim_aliases(var)
max = dim_aliases(max)  # noqa: A001
min = dim_aliases(min)  # noqa: A001
argmax = dim_aliases(argmax)
argmin = dim_aliases(argmin)
softmax = dim_aliases(softmax)
log_softmax = dim_aliases(log_softmax)
logsumexp = dim_aliases(logsumexp)
cat = dim_aliases(cat)
stack = dim_aliases(stack)
split = dim_aliases(split)
chunk = dim_aliases(chunk)
squeeze = dim_aliases(squeeze)
unsqueeze = dim_aliases(unsqueeze)
swapaxes = dim_aliases(swapaxes)

__all__ += _extra_all + _activation_all
