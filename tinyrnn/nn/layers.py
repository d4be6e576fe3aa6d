"""Feed-forward layers: Linear, Embedding, Dropout."""

from __future__ import annotations

import math

import numpy as np

from tinyrnn import functional as F
from tinyrnn.nn.module import Module, Parameter, check_dtype, check_flag, check_size, fan_in_bound, init_uniform
from tinyrnn.ops import where
from tinyrnn.random import get_rng
from tinyrnn.tensor import Tensor, make, mm, product_grad, tensor


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight^T + bias as one op: x (..., in), weight (out, in), bias (out,) or None -> (..., out).

    With X the rows of x as an (N, in) matrix and G = dL/dy as (N, out):
        Y = X W^T + b        dX = G W,   dW = G^T X,   db = G summed over the rows
    """
    x, weight = tensor(x), tensor(weight)
    X = x.data.reshape(math.prod(x.shape[:-1]), x.shape[-1])  # sizes written out: any of them may be 0
    Y = mm(X, weight.data.T)
    if bias is not None:  # in place, unless only the bias is complex (a complex-step check): then a new array
        Y = np.add(Y, bias.data, out=Y if Y.dtype == bias.dtype else None)

    def vjp(g):
        G = g.reshape(Y.shape)
        dx = mm(G, weight.data).reshape(x.shape) if x.requires_grad else None
        dw = product_grad(weight, G.T, X)  # G^T X; a parameter's is multiplied out later
        return dx, dw, G.sum(axis=0)

    parents = (x, weight) if bias is None else (x, weight, bias)
    return make(Y.reshape(*x.shape[:-1], weight.shape[0]), parents, vjp)


class Linear(Module):
    """y = x W^T + b with W (out_features, in_features), initialised like torch:
    uniform in +-1/sqrt(in_features). Sizes may be 0, as in torch (Linear(0, n) gives the bias).

    Args:
        in_features: the size of each input's last axis, >= 0.
        out_features: the size of each output's last axis, >= 0.
        bias: whether to learn an additive bias b (out_features,).
        dtype: the parameters' dtype; inputs must have the same.

    Attributes:
        weight (Parameter): (out_features, in_features).
        bias (Parameter | None): (out_features,), or None.

    Raises:
        ValueError: a size is negative or not an int.
        TypeError: bias is not a bool.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=np.float64):
        self.in_features = check_size("Linear", "in_features", in_features, minimum=0)
        self.out_features = check_size("Linear", "out_features", out_features, minimum=0)
        bias = check_flag("Linear", "bias", bias)
        bound = fan_in_bound(in_features)
        self.weight = init_uniform((out_features, in_features), bound, dtype)
        self.bias = init_uniform((out_features,), bound, dtype) if bias else None

    def forward(self, x) -> Tensor:
        """Apply the layer to the last axis of x.

        Args:
            x: a Tensor or array of shape (..., in_features) and the weights' dtype.

        Returns:
            A Tensor of shape (..., out_features).

        Raises:
            ValueError: x's last axis is not in_features long.
            TypeError: x's dtype differs from the weights' (no silent casts, as torch).
        """
        x = tensor(x)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear: expected input of shape (..., {self.in_features}), got {x.shape}")
        check_dtype("Linear", "input", x, self.weight.dtype)
        return linear(x, self.weight, self.bias)


class Embedding(Module):
    """A lookup table: row i of `weight` (num_embeddings, embedding_dim) is the vector
    of token i. Initialised N(0, 1) like torch.

    Args:
        num_embeddings: the vocabulary size V, >= 0.
        embedding_dim: the size E of each vector, >= 0.
        padding_idx: as torch: that row (negative: counted from the end) starts at 0
            and gets no gradient, so a padding token keeps its vector however it
            is trained; None for no padding row.
        dtype: the weights' dtype.

    Attributes:
        weight (Parameter): (V, E).

    Raises:
        ValueError: a size is negative, or padding_idx is outside [-V, V).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, dtype=np.float64):
        self.num_embeddings = check_size("Embedding", "num_embeddings", num_embeddings, minimum=0)
        self.embedding_dim = check_size("Embedding", "embedding_dim", embedding_dim, minimum=0)
        if padding_idx is not None:
            padding_idx = check_size("Embedding", "padding_idx", padding_idx, minimum=-num_embeddings)
            if padding_idx >= num_embeddings:
                raise ValueError(
                    f"Embedding: Padding_idx must be within num_embeddings: [-{num_embeddings}, {num_embeddings}), "
                    f"got {padding_idx}"
                )
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        self.weight = Parameter(get_rng().standard_normal((num_embeddings, embedding_dim)).astype(dtype))
        if padding_idx is not None:
            self.weight.data[padding_idx] = 0

    def forward(self, indices) -> Tensor:
        """Look up the vectors of `indices`: weight[indices].

        A token used several times gets the sum of its gradients (and the
        padding_idx row none).

        Args:
            indices: an integer array (or Tensor) of any shape (...), each in [0, V).

        Returns:
            A Tensor of shape (..., embedding_dim).

        Raises:
            TypeError: the indices are not integers.
            IndexError: an index is outside [0, V) (as torch).
        """
        indices = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
        if not np.issubdtype(indices.dtype, np.integer):
            raise TypeError(f"Embedding: indices must be integers, got dtype {indices.dtype}")
        if indices.size and (indices.min() < 0 or indices.max() >= self.num_embeddings):
            raise IndexError(  # as torch
                f"Embedding: indices must lie in [0, {self.num_embeddings}), got {indices.min()}..{indices.max()}"
            )
        rows = self.weight[indices]
        if self.padding_idx is None:
            return rows
        return where((indices != self.padding_idx)[..., None], rows, rows.detach())  # padding rows: constants


class Dropout(Module):
    """Zeroes entries with probability p while training (scaling the rest by 1/(1-p)); identity in `eval()`.

    The mask is drawn from tinyrnn's generator (`tr.manual_seed`).

    Args:
        p: the probability of dropping an entry, in [0, 1].

    Raises:
        ValueError: p is not a number in [0, 1].
    """

    def __init__(self, p: float = 0.5):
        F._check_probability("Dropout", "p", p)
        self.p = p

    def forward(self, x) -> Tensor:
        """x with dropout applied in training mode (`functional.dropout`), unchanged in eval mode.

        Args:
            x: a Tensor or array of any shape.
        """
        return F.dropout(tensor(x), self.p, self.training)
