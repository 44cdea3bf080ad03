"""Layers, losses and containers, every one composed from Tensor ops (``mg.nn``)."""

from . import functional, init, utils
from .attention import AdditiveAttention, MultiheadAttention
from .layers import Dropout, Embedding, LayerNorm, Linear
from .module import Module, ModuleList, Parameter, Sequential
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

__all__ = [
    "Module", "ModuleList", "Parameter", "Sequential", "functional",
    "Dropout", "Embedding", "LayerNorm", "Linear", "init", "utils",
    "GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNCell",
    "AdditiveAttention", "MultiheadAttention",
]

from .activations import *  # noqa: E402,F403
from .activations import __all__ as _activations_all  # noqa: E402
from .losses import *  # noqa: E402,F403
from .losses import __all__ as _losses_all  # noqa: E402
from .transformer import (  # noqa: E402
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

__all__ += _activations_all + _losses_all + [
    "Transformer", "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder",
    "TransformerEncoderLayer",
]
