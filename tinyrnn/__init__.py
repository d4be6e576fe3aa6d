"""tinyrnn: reverse-mode autodiff in pure NumPy, for learning backpropagation through time."""

from tinyrnn import functional, nn, optim
from tinyrnn.function import Function, FunctionCtx
from tinyrnn.gradcheck import GradcheckError, gradcheck, numerical_grad
from tinyrnn.io import CheckpointError, load, save
from tinyrnn.ops import (
    cat,
    exp,
    log,
    log_softmax,
    max,
    min,
    relu,
    sigmoid,
    softmax,
    softplus,
    split,
    stack,
    tanh,
    unbind,
    where,
)
from tinyrnn.random import manual_seed
from tinyrnn.tensor import Tensor, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from tinyrnn.viz import to_dot

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "Function",
    "FunctionCtx",
    "GradcheckError",
    "Tensor",
    "cat",
    "enable_grad",
    "exp",
    "functional",
    "gradcheck",
    "is_grad_enabled",
    "load",
    "log",
    "log_softmax",
    "manual_seed",
    "max",
    "min",
    "nn",
    "no_grad",
    "numerical_grad",
    "optim",
    "relu",
    "save",
    "set_grad_enabled",
    "sigmoid",
    "softmax",
    "softplus",
    "split",
    "stack",
    "tanh",
    "to_dot",
    "unbind",
    "where",
]
