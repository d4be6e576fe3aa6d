"""Recurrent cells: one time step of a vanilla RNN, a GRU and an LSTM, written as their equations,
and RecurrentCell, the public base class of every cell (subclass it to write your own).

Parameters follow torch: weight_ih (G*H, I), weight_hh (G*H, H), bias_ih and bias_hh
(G*H,), the G gates stacked in torch's order (GRU: r, z, n; LSTM: i, f, g, o).

The step functions take xi = x W_ih^T + b_ih, the input's share of every gate
(shape (B, G*H)), so that a layer can compute it for all time steps with one
matmul before its loop. Everything is built from tinyrnn ops: autograd does the
backpropagation through time.
"""

from __future__ import annotations

import numpy as np

from tinyrnn.nn.layers import linear
from tinyrnn.nn.module import Module, check_dtype, check_flag, check_size, fan_in_bound, init_uniform
from tinyrnn.ops import sigmoid, split, tanh
from tinyrnn.tensor import Tensor, tensor

NONLINEARITIES = ("tanh", "relu")


def rnn_step(xi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None, nonlinearity: str = "tanh") -> Tensor:
    """h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act = tanh or relu; xi (B, H), h (B, H)."""
    a = xi + linear(h, w_hh, b_hh)
    return tanh(a) if nonlinearity == "tanh" else a.relu()


def gru_step(xi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None, reset_after: bool = True) -> Tensor:
    """One GRU step; xi (B, 3H) holds x W_i{r,z,n}^T + b_i{r,z,n}, h (B, H).

    r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)            reset gate
    z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)            update gate
    n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))         reset_after=True (torch, cuDNN)
    n  = tanh(W_in x + b_in + W_hn (r * h) + b_hn)         reset_after=False (Cho et al. 2014, d2l)
    h' = (1 - z) * n + z * h
    """
    H = h.shape[-1]
    x_r, x_z, x_n = split(xi, H, axis=-1)
    if reset_after:
        h_r, h_z, h_n = split(linear(h, w_hh, b_hh), H, axis=-1)
    else:
        b_rz, b_n = (None, None) if b_hh is None else (b_hh[: 2 * H], b_hh[2 * H :])
        h_r, h_z = split(linear(h, w_hh[: 2 * H], b_rz), H, axis=-1)
    r = sigmoid(x_r + h_r)
    z = sigmoid(x_z + h_z)
    if reset_after:
        n = tanh(x_n + r * h_n)
    else:
        n = tanh(x_n + linear(r * h, w_hh[2 * H :], b_n))
    return (1 - z) * n + z * h


def lstm_step(xi: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> tuple[Tensor, Tensor]:
    """One LSTM step; xi (B, 4H) holds x W_i{i,f,g,o}^T + b_i{i,f,g,o}, h and c (B, H).

    i  = sigmoid(W_ii x + b_ii + W_hi h + b_hi)     input gate
    f  = sigmoid(W_if x + b_if + W_hf h + b_hf)     forget gate
    g  = tanh(W_ig x + b_ig + W_hg h + b_hg)        candidate cell
    o  = sigmoid(W_io x + b_io + W_ho h + b_ho)     output gate
    c' = f * c + i * g
    h' = o * tanh(c')
    """
    a_i, a_f, a_g, a_o = split(xi + linear(h, w_hh, b_hh), h.shape[-1], axis=-1)
    i = sigmoid(a_i)
    f = sigmoid(a_f)
    g = tanh(a_g)
    o = sigmoid(a_o)
    c_new = f * c + i * g
    h_new = o * tanh(c_new)
    return h_new, c_new


class RecurrentCell(Module):
    """One time step of a recurrent network: subclass it to write your own cell.

    A subclass sets `input_size` and `hidden_size` and assigns its Parameters in
    __init__ (a Module finds them by walking its attributes), lists its states in
    `state_names` (("h",) by default; an LSTM-like cell ("h", "c")), each of shape
    (B, hidden_size), and defines

        forward(x, state) -> new state

    with x (B, input_size); `state` and the result are the Tensor h for a cell with
    one state, else the tuple of its states in `state_names` order. The first state
    is the cell's output. Built from tinyrnn ops, the step is differentiated by
    autograd, and tr.nn.Recurrent(MyCell, ...) runs it over whole sequences (stacked,
    bidirectional, padded batches). RNNCell, GRUCell and LSTMCell are such cells.
    """

    state_names: tuple[str, ...] = ("h",)
    input_size: int
    hidden_size: int

    def forward(self, x: Tensor, state):
        """One time step; what a subclass defines.

        Args:
            x: the input at this step, (B, input_size).
            state: the previous state: the Tensor h (B, hidden_size) for a cell
                with one state, else the tuple of its states in `state_names` order.

        Returns:
            The new state, in the same form as `state`.

        Raises:
            NotImplementedError: the subclass did not define it.
        """
        raise NotImplementedError(f"{type(self).__name__} must define forward(x, state) -> new state")


class _Cell(RecurrentCell):
    """Parameters and input checks shared by the three cells; `gates` = G."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool, dtype):
        name = type(self).__name__
        self.input_size = check_size(name, "input_size", input_size)
        self.hidden_size = check_size(name, "hidden_size", hidden_size)
        bias = check_flag(name, "bias", bias)
        G, H, bound = self.gates, hidden_size, fan_in_bound(hidden_size)
        self.weight_ih = init_uniform((G * H, input_size), bound, dtype)
        self.weight_hh = init_uniform((G * H, H), bound, dtype)
        self.bias_ih = init_uniform((G * H,), bound, dtype) if bias else None
        self.bias_hh = init_uniform((G * H,), bound, dtype) if bias else None

    def _inputs(self, x, states) -> tuple[Tensor, list[Tensor]]:
        """xi = x W_ih^T + b_ih and the states (zeros where None), after checking shapes and dtypes."""
        name, x = type(self).__name__, tensor(x)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}: expected input of shape (B, {self.input_size}) or ({self.input_size},), got {x.shape}"
            )
        check_dtype(name, "input", x, self.weight_ih.dtype)
        shape = x.shape[:-1] + (self.hidden_size,)
        checked = []
        for s in states:
            s = Tensor(np.zeros(shape, self.weight_hh.dtype)) if s is None else tensor(s)
            if s.shape != shape:
                raise ValueError(f"{name}: expected a state of shape {shape} for input {x.shape}, got {s.shape}")
            check_dtype(name, "state", s, self.weight_hh.dtype)
            checked.append(s)
        return linear(x, self.weight_ih, self.bias_ih), checked


class RNNCell(_Cell):
    """One step of a vanilla RNN, as `torch.nn.RNNCell` (G = 1 gate):

        h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)        (or relu)

    Args:
        input_size: I, the size of each input vector.
        hidden_size: H, the size of the hidden state.
        bias: whether to learn the biases b_ih and b_hh.
        nonlinearity: 'tanh' or 'relu'.
        dtype: the parameters' dtype; inputs must have the same.

    Attributes:
        weight_ih (Parameter): (G*H, I), the G gates' input weights stacked in torch's order.
        weight_hh (Parameter): (G*H, H).
        bias_ih (Parameter | None): (G*H,), or None without bias.
        bias_hh (Parameter | None): (G*H,), or None without bias.

    Raises:
        ValueError: a size is below 1, or nonlinearity is neither 'tanh' nor 'relu'.
    """

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh", dtype=np.float64
    ):
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"RNNCell: nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, x, h=None) -> Tensor:
        """One time step: the next hidden state.

        Args:
            x: the input, (B, I) or unbatched (I,), in the weights' dtype.
            h: the previous hidden state, of shape (B, H) or (H,) to match x;
                None for zeros.

        Returns:
            h', of h's shape.

        Raises:
            ValueError: x or h has the wrong shape.
        """
        xi, (h,) = self._inputs(x, [h])
        return rnn_step(xi, h, self.weight_hh, self.bias_hh, self.nonlinearity)


class GRUCell(_Cell):
    """One step of a GRU, as `torch.nn.GRUCell` (G = 3 gates, in the order r, z, n):

        r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)            reset gate
        z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)            update gate
        n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))         reset_after=True (torch, cuDNN)
        n  = tanh(W_in x + b_in + W_hn (r * h) + b_hn)         reset_after=False (Cho et al. 2014, d2l)
        h' = (1 - z) * n + z * h

    Args:
        input_size: I, the size of each input vector.
        hidden_size: H, the size of the hidden state.
        bias: whether to learn the biases b_ih and b_hh.
        reset_after: True applies the reset gate after the recurrent matmul
            (torch's GRU), False before it (the original formulation).
        dtype: the parameters' dtype; inputs must have the same.

    Attributes:
        weight_ih (Parameter): (G*H, I), the G gates' input weights stacked in torch's order.
        weight_hh (Parameter): (G*H, H).
        bias_ih (Parameter | None): (G*H,), or None without bias.
        bias_hh (Parameter | None): (G*H,), or None without bias.

    Raises:
        ValueError: a size is below 1.
    """

    gates = 3

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, reset_after: bool = True, dtype=np.float64
    ):
        super().__init__(input_size, hidden_size, bias, dtype)
        self.reset_after = check_flag("GRUCell", "reset_after", reset_after)

    def forward(self, x, h=None) -> Tensor:
        """One time step: the next hidden state.

        Args:
            x: the input, (B, I) or unbatched (I,), in the weights' dtype.
            h: the previous hidden state, of shape (B, H) or (H,) to match x;
                None for zeros.

        Returns:
            h', of h's shape.

        Raises:
            ValueError: x or h has the wrong shape.
        """
        xi, (h,) = self._inputs(x, [h])
        return gru_step(xi, h, self.weight_hh, self.bias_hh, self.reset_after)


class LSTMCell(_Cell):
    """One step of an LSTM, as `torch.nn.LSTMCell` (G = 4 gates, in the order i, f, g, o):

        i  = sigmoid(W_ii x + b_ii + W_hi h + b_hi)     input gate
        f  = sigmoid(W_if x + b_if + W_hf h + b_hf)     forget gate
        g  = tanh(W_ig x + b_ig + W_hg h + b_hg)        candidate cell
        o  = sigmoid(W_io x + b_io + W_ho h + b_ho)     output gate
        c' = f * c + i * g
        h' = o * tanh(c')

    Args:
        input_size: I, the size of each input vector.
        hidden_size: H, the size of the hidden and cell states.
        bias: whether to learn the biases b_ih and b_hh.
        dtype: the parameters' dtype; inputs must have the same.

    Attributes:
        weight_ih (Parameter): (G*H, I), the G gates' input weights stacked in torch's order.
        weight_hh (Parameter): (G*H, H).
        bias_ih (Parameter | None): (G*H,), or None without bias.
        bias_hh (Parameter | None): (G*H,), or None without bias.

    Raises:
        ValueError: a size is below 1.
    """

    gates = 4
    state_names = ("h", "c")

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype=np.float64):
        super().__init__(input_size, hidden_size, bias, dtype)

    def forward(self, x, state=None) -> tuple[Tensor, Tensor]:
        """One time step: the next hidden and cell states.

        Args:
            x: the input, (B, I) or unbatched (I,), in the weights' dtype.
            state: the previous (h, c), each of shape (B, H) or (H,) to match x;
                None for zeros.

        Returns:
            (h', c'), each of h's shape.

        Raises:
            TypeError: state is neither a pair nor None.
            ValueError: x, h or c has the wrong shape.
        """
        if state is not None and (not isinstance(state, (tuple, list)) or len(state) != 2):
            raise TypeError(f"LSTMCell: state must be a tuple (h, c) or None, got {type(state).__name__}")
        xi, (h, c) = self._inputs(x, state or [None, None])
        return lstm_step(xi, h, c, self.weight_hh, self.bias_hh)
