"""Feed-forward layers: Linear, Embedding, Dropout."""

from __future__ import annotations

import numpy as np

from tinyrnn import functional as F
from tinyrnn.nn.module import Module, Parameter, fan_in_bound, init_uniform
from tinyrnn.random import get_rng
from tinyrnn.tensor import Tensor, make, mm, tensor


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight^T + bias as one op: x (..., in), weight (out, in), bias (out,) or None -> (..., out).

    With X the rows of x as an (N, in) matrix and G = dL/dy as (N, out):
        Y = X W^T + b        dX = G W,   dW = G^T X,   db = G summed over the rows
    """
    x, weight = tensor(x), tensor(weight)
    X = x.data.reshape(-1, x.shape[-1])
    Y = mm(X, weight.data.T)
    if bias is not None:  # in place, unless only the bias is complex (a complex-step check): then a new array
        Y = np.add(Y, bias.data, out=Y if Y.dtype == bias.dtype else None)

    def vjp(g):
        G = g.reshape(Y.shape)
        dx = mm(G, weight.data).reshape(x.shape) if x.requires_grad else None
        dw = mm(X.T, G).T  # G^T X, summed in the order of the matmul + transpose ops this replaced: same bits
        return dx, dw, G.sum(axis=0)

    parents = (x, weight) if bias is None else (x, weight, bias)
    return make(Y.reshape(*x.shape[:-1], -1), parents, vjp)


class Linear(Module):
    """y = x W^T + b with W (out_features, in_features), initialised like torch:
    uniform in +-1/sqrt(in_features)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=np.float64):
        self.in_features, self.out_features = in_features, out_features
        bound = fan_in_bound(in_features)
        self.weight = init_uniform((out_features, in_features), bound, dtype)
        self.bias = init_uniform((out_features,), bound, dtype) if bias else None

    def forward(self, x) -> Tensor:
        """x (..., in_features) -> (..., out_features)."""
        x = tensor(x)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear: expected input of shape (..., {self.in_features}), got {x.shape}")
        if x.dtype != self.weight.dtype:  # as torch: no silent casts
            raise TypeError(f"Linear: input dtype {x.dtype}, but the layer's weights are {self.weight.dtype}")
        return linear(x, self.weight, self.bias)


class Embedding(Module):
    """A lookup table: row i of `weight` (num_embeddings, embedding_dim) is the vector
    of token i. Initialised N(0, 1) like torch."""

    def __init__(self, num_embeddings: int, embedding_dim: int, dtype=np.float64):
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = Parameter(get_rng().standard_normal((num_embeddings, embedding_dim)).astype(dtype))

    def forward(self, indices) -> Tensor:
        """Integer indices of any shape (...) -> (..., embedding_dim).

        It is weight[indices]: a token used several times gets the sum of its gradients."""
        indices = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
        if not np.issubdtype(indices.dtype, np.integer):
            raise TypeError(f"Embedding: indices must be integers, got dtype {indices.dtype}")
        if indices.size and (indices.min() < 0 or indices.max() >= self.num_embeddings):
            raise ValueError(
                f"Embedding: indices must lie in [0, {self.num_embeddings}), got {indices.min()}..{indices.max()}"
            )
        return self.weight[indices]


class Dropout(Module):
    """Zeroes entries with probability p while training (scaling the rest by 1/(1-p)); identity in eval()."""

    def __init__(self, p: float = 0.5):
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x) -> Tensor:
        return F.dropout(tensor(x), self.p, self.training)
