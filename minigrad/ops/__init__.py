"""The ops. Primitives (Function subclasses with forward and backward):

elementwise  Add Sub Mul Div Neg Pow PowScalar Exp Log Sqrt Tanh Sigmoid Relu Abs Clip
             Maximum Minimum Where Cast
reduction    Sum Max
broadcast    BroadcastTo SumTo
shape        Reshape Transpose Cat Stack Split
indexing     GetItem IndexAdd
linalg       MatMul
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
from .linalg import matmul
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
