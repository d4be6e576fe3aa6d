"""Neural-network building blocks with torch's names, shapes and gate order."""

from tinyrnn.nn import utils
from tinyrnn.nn.cells import GRUCell, LSTMCell, RecurrentCell, RNNCell
from tinyrnn.nn.layers import Dropout, Embedding, Linear
from tinyrnn.nn.module import Module, Parameter
from tinyrnn.nn.recurrent import GRU, LSTM, RNN, Recurrent

__all__ = [
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "Dropout",
    "Embedding",
    "Linear",
    "Module",
    "Parameter",
    "RNN",
    "RNNCell",
    "Recurrent",
    "RecurrentCell",
    "utils",
]
