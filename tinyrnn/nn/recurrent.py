"""Multi-layer, optionally bidirectional RNN, GRU and LSTM layers over whole sequences.

Shapes follow torch: x (T, B, I) (or (B, T, I) with batch_first, or (T, I)
unbatched), output (T, B, D*H) with D = 2 if bidirectional else 1, h_n and c_n
(L*D, B, H). Parameter names are torch's (weight_ih_l0, weight_hh_l0, bias_ih_l0,
bias_hh_l0, weight_ih_l0_reverse, ..., weight_ih_l1, ...), so state_dict() loads
into torch.nn.RNN/GRU/LSTM unchanged.

Every (layer, direction) runs through one method, _run_direction: by default
(fused=True) one fused node of tinyrnn.nn.fused with BPTT written out by hand,
fast; with fused=False the cell equations of cells.py applied step by step, with
autograd doing BPTT (the readable reference). checkpoint=k makes the fused path
keep only every k-th state and recompute the rest in backward (less memory).

Recurrent(MyCell, ...) runs any RecurrentCell with the same machinery, per op.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tinyrnn import functional as F
from tinyrnn.nn.cells import NONLINEARITIES, RecurrentCell, gru_step, lstm_step, rnn_step
from tinyrnn.nn.fused import gru_sequence, lstm_sequence, rnn_sequence
from tinyrnn.nn.layers import linear
from tinyrnn.nn.module import Module, check_dtype, check_flag, check_size, fan_in_bound, init_uniform
from tinyrnn.ops import cat, stack, unbind, where
from tinyrnn.tensor import Tensor, tensor


class _Recurrent(Module):
    """What RNN, GRU and LSTM share: parameters, shape checks, the layer/direction loop.

    A subclass sets `gates` (G) and `state_names`, and defines `_step(xi, state,
    w_hh, b_hh) -> new state`, where a state is a tuple: (h,) or, for LSTM, (h, c),
    and may define `_fused(...)`, its whole-sequence kernel. fused=True (the default)
    runs each layer and direction with that kernel when there is one, fused=False
    (or no kernel) with the per-op cell loop; checkpoint=k (fused only) keeps every
    k-th state and recomputes the rest in backward."""

    gates = 1
    state_names: tuple[str, ...] = ("h0",)
    # (x, state, weights, lengths, reverse) -> (out, *final states), or None: per-op only
    _fused: Callable[..., Any] | None = None
    _step: Callable[..., tuple[Tensor, ...]]  # (xi_t, state tuple, w_hh, b_hh) -> new state tuple

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype=np.float64,
        fused: bool = True,
        checkpoint: int | None = None,
    ):
        name = type(self).__name__
        self._configure(input_size, hidden_size, num_layers, batch_first, dropout, bidirectional, dtype)
        if checkpoint is not None and not fused:
            raise ValueError(f"{name}: checkpoint={checkpoint} needs fused=True (the per-op path keeps every step)")
        self.bias, self.fused = check_flag(name, "bias", bias), check_flag(name, "fused", fused)
        self.checkpoint = checkpoint
        G, H, bound = self.gates, hidden_size, fan_in_bound(hidden_size)
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else H * self.num_directions
            for suffix in self._suffixes(layer):
                setattr(self, f"weight_ih{suffix}", init_uniform((G * H, layer_input), bound, dtype))
                setattr(self, f"weight_hh{suffix}", init_uniform((G * H, H), bound, dtype))
                if bias:
                    setattr(self, f"bias_ih{suffix}", init_uniform((G * H,), bound, dtype))
                    setattr(self, f"bias_hh{suffix}", init_uniform((G * H,), bound, dtype))

    def _configure(self, input_size, hidden_size, num_layers, batch_first, dropout, bidirectional, dtype) -> None:
        """Check and store the options every recurrent layer has."""
        name = type(self).__name__
        self.input_size = check_size(name, "input_size", input_size)
        self.hidden_size = check_size(name, "hidden_size", hidden_size)
        self.num_layers = check_size(name, "num_layers", num_layers)
        self.batch_first = check_flag(name, "batch_first", batch_first)
        self.bidirectional = check_flag(name, "bidirectional", bidirectional)
        F._check_probability(name, "dropout", dropout)
        self.dropout, self.dtype = dropout, np.dtype(dtype)

    @property
    def num_directions(self) -> int:
        """D: 2 for a bidirectional layer, 1 otherwise."""
        return 2 if self.bidirectional else 1

    def _suffixes(self, layer: int) -> list[str]:
        return [f"_l{layer}", f"_l{layer}_reverse"][: self.num_directions]

    def _weights(self, layer: int, reverse: bool) -> tuple:
        """(w_ih, w_hh, b_ih, b_hh) of one layer and direction; biases None without bias."""
        suffix = f"_l{layer}" + ("_reverse" if reverse else "")
        return tuple(getattr(self, f"{w}{suffix}", None) for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))

    def _run_direction(self, layer: int, reverse: bool, x: Tensor, state: tuple, lengths: np.ndarray | None):
        """One layer in one direction: x (T, B, I), state tuple of (B, H) -> (output (T, B, H), final state).

        With `lengths`, steps t >= lengths[b] of sequence b keep its state and output zeros,
        so the reverse direction starts at each sequence's own last step."""
        T, B, _ = x.shape
        if self.fused and self._fused is not None and B > 0:  # an empty batch runs per op: only shapes to keep
            out, *final = self._fused(x, state, self._weights(layer, reverse), lengths, reverse)
            return out, tuple(final)
        xs, step = self._steps(layer, reverse, x)
        all_valid = T if lengths is None or B == 0 else lengths.min()  # steps t < all_valid need no mask
        outputs: list[Any] = [None] * T
        for t in reversed(range(T)) if reverse else range(T):
            new = step(xs[t], state)
            if t < all_valid:
                state, outputs[t] = new, new[0]
            else:
                assert lengths is not None  # all_valid < T only with lengths
                valid = (t < lengths)[:, None]  # (B, 1): which sequences have a step t
                state = tuple(where(valid, n, s) for n, s in zip(new, state))
                outputs[t] = where(valid, new[0], 0.0)
        return stack(outputs), state

    def _steps(self, layer: int, reverse: bool, x: Tensor) -> tuple[list[Tensor], Callable]:
        """The per-op path of one layer and direction: the T inputs of its steps and
        step(input_t, state tuple) -> new state tuple. Here the input's share of every
        gate, x W_ih^T + b_ih, is computed for all steps at once, then one _step per step."""
        w_ih, w_hh, b_ih, b_hh = self._weights(layer, reverse)
        return unbind(linear(x, w_ih, b_ih)), lambda xi_t, state: self._step(xi_t, state, w_hh, b_hh)

    def _forward(self, x, state0, lengths):
        """The shared forward: returns (output, tuple of final states each (L*D, B, H))."""
        x, unbatched = self._check_input(tensor(x))
        if self.batch_first and not unbatched:
            x = x.transpose(1, 0, 2)
        T, B, _ = x.shape
        if T == 0:
            raise ValueError(f"{type(self).__name__}: expected a sequence of length > 0, got no time steps")
        states = self._initial_states(state0, B, unbatched)
        lengths = self._check_lengths(lengths, T, B, unbatched)
        finals = []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                out, final = self._run_direction(layer, direction == 1, x, tuple(s[k] for s in states), lengths)
                outs.append(out)
                finals.append(final)
            x = outs[0] if len(outs) == 1 else cat(outs, axis=2)
            if layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, self.training)
        final_states = tuple(_stack_layers([f[i] for f in finals]) for i in range(len(self.state_names)))
        if unbatched:
            return x.reshape(T, -1), tuple(s.reshape(s.shape[0], -1) for s in final_states)
        return (x.transpose(1, 0, 2) if self.batch_first else x), final_states

    def _check_input(self, x: Tensor) -> tuple[Tensor, bool]:
        """x as (T, B, I) (batch_first not yet undone) and whether it came unbatched (T, I)."""
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            batched = "(B, T, {0})" if self.batch_first else "(T, B, {0})"
            expected = (batched + " or (T, {0})").format(self.input_size)
            raise ValueError(f"{type(self).__name__}: expected input of shape {expected}, got {x.shape}")
        check_dtype(type(self).__name__, "input", x, self.dtype)
        if x.ndim == 2:
            return x.reshape(x.shape[0], 1, x.shape[1]), True
        return x, False

    def _initial_states(self, state0, B: int, unbatched: bool) -> list[list[Tensor]]:
        """For each state (h, [c]): the list of its L*D initial (B, H) slices (zeros when not given or None)."""
        LD, H = self.num_layers * self.num_directions, self.hidden_size
        expected = (LD, H) if unbatched else (LD, B, H)
        states = []
        for name, s in zip(self.state_names, state0 or [None] * len(self.state_names)):
            if s is None:
                states.append([Tensor(np.zeros((B, H), self.dtype))] * LD)
                continue
            s = tensor(s)
            if s.shape != expected:
                raise ValueError(f"{type(self).__name__}: expected {name} of shape {expected}, got {s.shape}")
            check_dtype(type(self).__name__, name, s, self.dtype)
            states.append([s.reshape(B, H)] if LD == 1 else unbind(s.reshape(LD, B, H)))
        return states

    def _check_lengths(self, lengths, T: int, B: int, unbatched: bool) -> np.ndarray | None:
        if lengths is None:
            return None
        name = type(self).__name__
        if unbatched:
            raise ValueError(f"{name}: lengths need a batched input (T, B, I), got an unbatched one")
        lengths = np.asarray(lengths)
        if lengths.shape != (B,) or not np.issubdtype(lengths.dtype, np.integer):
            raise ValueError(
                f"{name}: lengths must be integers of shape (B,) = ({B},), got {lengths.dtype} {lengths.shape}"
            )
        if lengths.size and (lengths.min() < 1 or lengths.max() > T):
            raise ValueError(f"{name}: lengths must lie in [1, T] = [1, {T}], got {lengths.min()}..{lengths.max()}")
        return lengths

    def forward(self, x, h0=None, lengths=None):
        """Run the layers over a sequence.

        A layer with several states (LSTM: h and c) takes h0 as a tuple (h0, c0) and returns
        (output, (h_n, c_n)), each state (L*D, B, H); a part of the tuple may be None (zeros),
        as LSTMCell takes it."""
        if len(self.state_names) == 1:
            output, (h_n,) = self._forward(x, None if h0 is None else (h0,), lengths)
            return output, h_n
        if h0 is not None and (not isinstance(h0, (tuple, list)) or len(h0) != len(self.state_names)):
            names = ", ".join(self.state_names)
            raise TypeError(f"{type(self).__name__}: h0 must be a tuple ({names}) or None, got {type(h0).__name__}")
        return self._forward(x, h0, lengths)


def _stack_layers(states: list[Tensor]) -> Tensor:
    """L*D states (B, H) -> (L*D, B, H); a single one is just reshaped (no stack node)."""
    return states[0].reshape(1, *states[0].shape) if len(states) == 1 else stack(states)


class RNN(_Recurrent):
    """Elman RNN over whole sequences, as `torch.nn.RNN`; per layer and direction (G = 1):

        h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)        (or relu)

    Args:
        input_size: I, the size of each input vector.
        hidden_size: H, the size of each hidden state.
        num_layers: L, stacked layers; layer l > 0 reads the output of layer l - 1.
        nonlinearity: 'tanh' or 'relu'.
        bias: whether to learn the biases b_ih and b_hh.
        batch_first: inputs and outputs are (B, T, ...) instead of (T, B, ...).
        dropout: the probability of dropout on the outputs of every layer but
            the last, in training mode.
        bidirectional: run a second direction from the end of each sequence
            (D = 2); outputs are the two directions side by side.
        dtype: the parameters' dtype; inputs must have the same.
        fused: True runs each layer and direction as one node whose backward is
            BPTT written out (fast); False runs the cell equations step by step
            and lets autograd do BPTT (the readable reference).
        checkpoint: with fused=True, keep only every k-th state and recompute
            the rest in backward (less memory).

    Parameters are torch's: `weight_ih_l{k}` (G*H, I or D*H), `weight_hh_l{k}`
    (G*H, H), `bias_ih_l{k}` and `bias_hh_l{k}` (G*H,), and `..._reverse` for the
    second direction, so `state_dict()` loads into torch's layer unchanged.

    Raises:
        ValueError: a size is below 1, dropout is outside [0, 1), or checkpoint
            is given with fused=False.

    Calling the layer, `output, h_n = layer(x, h0=None, lengths=None)`:
    x is (T, B, I) (batch_first: (B, T, I); unbatched: (T, I)); h0 is (L*D, B, H)
    or None for zeros; lengths (B,) gives each sequence's valid length in a
    padded batch (padded steps keep the state, output zeros and get no
    gradient; the reverse direction starts at each sequence's own last step).
    output is (T, B, D*H) and h_n (L*D, B, H), as torch's.

    Examples:
        >>> import numpy as np, tinyrnn as tr
        >>> rnn = tr.nn.RNN(input_size=3, hidden_size=5, num_layers=2)
        >>> output, h_n = rnn(np.zeros((7, 4, 3)))
        >>> output.shape, h_n.shape
        ((7, 4, 5), (2, 4, 5))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype=np.float64,
        fused: bool = True,
        checkpoint: int | None = None,
    ):
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"RNN: Unknown nonlinearity {nonlinearity!r}, expected one of {NONLINEARITIES}")
        self.nonlinearity = nonlinearity
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, dtype, fused, checkpoint
        )

    def _step(self, xi, state, w_hh, b_hh):
        return (rnn_step(xi, state[0], w_hh, b_hh, self.nonlinearity),)

    def _fused(self, x, state, weights, lengths, reverse):
        kw = dict(nonlinearity=self.nonlinearity, lengths=lengths, reverse=reverse, checkpoint=self.checkpoint)
        return rnn_sequence(x, *state, *weights, **kw)


class GRU(_Recurrent):
    """GRU over whole sequences, as `torch.nn.GRU` (the equations of `GRUCell`, gates r, z, n).

    Args:
        input_size: I, the size of each input vector.
        hidden_size: H, the size of each hidden state.
        num_layers: L, stacked layers; layer l > 0 reads the output of layer l - 1.
        bias: whether to learn the biases b_ih and b_hh.
        batch_first: inputs and outputs are (B, T, ...) instead of (T, B, ...).
        dropout: the probability of dropout on the outputs of every layer but
            the last, in training mode.
        bidirectional: run a second direction from the end of each sequence
            (D = 2); outputs are the two directions side by side.
        reset_after: True applies the reset gate after the recurrent matmul
            (torch's GRU), False before it (Cho et al.'s original GRU, d2l's).
        dtype: the parameters' dtype; inputs must have the same.
        fused: True runs each layer and direction as one node whose backward is
            BPTT written out (fast); False runs the cell equations step by step
            and lets autograd do BPTT (the readable reference).
        checkpoint: with fused=True, keep only every k-th state and recompute
            the rest in backward (less memory).

    Parameters are torch's: `weight_ih_l{k}` (G*H, I or D*H), `weight_hh_l{k}`
    (G*H, H), `bias_ih_l{k}` and `bias_hh_l{k}` (G*H,), and `..._reverse` for the
    second direction, so `state_dict()` loads into torch's layer unchanged.

    Raises:
        ValueError: a size is below 1, dropout is outside [0, 1), or checkpoint
            is given with fused=False.

    Calling the layer, `output, h_n = layer(x, h0=None, lengths=None)`:
    x is (T, B, I) (batch_first: (B, T, I); unbatched: (T, I)); h0 is (L*D, B, H)
    or None for zeros; lengths (B,) gives each sequence's valid length in a
    padded batch (padded steps keep the state, output zeros and get no
    gradient; the reverse direction starts at each sequence's own last step).
    output is (T, B, D*H) and h_n (L*D, B, H), as torch's.
    """

    gates = 3

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        reset_after: bool = True,
        dtype=np.float64,
        fused: bool = True,
        checkpoint: int | None = None,
    ):
        self.reset_after = check_flag("GRU", "reset_after", reset_after)
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, dtype, fused, checkpoint
        )

    def _step(self, xi, state, w_hh, b_hh):
        return (gru_step(xi, state[0], w_hh, b_hh, self.reset_after),)

    def _fused(self, x, state, weights, lengths, reverse):
        kw = dict(reset_after=self.reset_after, lengths=lengths, reverse=reverse, checkpoint=self.checkpoint)
        return gru_sequence(x, *state, *weights, **kw)


class LSTM(_Recurrent):
    """LSTM over whole sequences, as `torch.nn.LSTM` (the equations of `LSTMCell`, gates i, f, g, o).

    Args:
        input_size: I, the size of each input vector.
        hidden_size: H, the size of each hidden state.
        num_layers: L, stacked layers; layer l > 0 reads the output of layer l - 1.
        bias: whether to learn the biases b_ih and b_hh.
        batch_first: inputs and outputs are (B, T, ...) instead of (T, B, ...).
        dropout: the probability of dropout on the outputs of every layer but
            the last, in training mode.
        bidirectional: run a second direction from the end of each sequence
            (D = 2); outputs are the two directions side by side.
        dtype: the parameters' dtype; inputs must have the same.
        fused: True runs each layer and direction as one node whose backward is
            BPTT written out (fast); False runs the cell equations step by step
            and lets autograd do BPTT (the readable reference).
        checkpoint: with fused=True, keep only every k-th state and recompute
            the rest in backward (less memory).

    Parameters are torch's: `weight_ih_l{k}` (G*H, I or D*H), `weight_hh_l{k}`
    (G*H, H), `bias_ih_l{k}` and `bias_hh_l{k}` (G*H,), and `..._reverse` for the
    second direction, so `state_dict()` loads into torch's layer unchanged.

    Raises:
        ValueError: a size is below 1, dropout is outside [0, 1), or checkpoint
            is given with fused=False.

    Calling the layer, `output, (h_n, c_n) = lstm(x, h0=None, lengths=None)`: as
    `RNN`, with the state a pair (h, c) of (L*D, B, H) arrays.

    Examples:
        >>> import numpy as np, tinyrnn as tr
        >>> lstm = tr.nn.LSTM(8, 16, num_layers=2, bidirectional=True)
        >>> out, (h_n, c_n) = lstm(np.zeros((5, 4, 8)), lengths=np.array([5, 3, 2, 5]))
        >>> out.shape, h_n.shape
        ((5, 4, 32), (4, 4, 16))
    """

    gates = 4
    state_names = ("h0", "c0")

    def _step(self, xi, state, w_hh, b_hh):
        h, c = state
        return lstm_step(xi, h, c, w_hh, b_hh)

    def _fused(self, x, state, weights, lengths, reverse):
        return lstm_sequence(x, *state, *weights, lengths=lengths, reverse=reverse, checkpoint=self.checkpoint)


class Recurrent(_Recurrent):
    """Any RecurrentCell over whole sequences, with the machinery of RNN, GRU and LSTM.

        layer = tr.nn.Recurrent(MyCell, input_size, hidden_size, num_layers=2, bidirectional=True)
        output, h_n = layer(x, h0=None, lengths=None)

    `cell` is called as cell(input_size, hidden_size) once per layer and direction (a
    RecurrentCell subclass, or a function such as functools.partial(MyCell, dtype=np.float32));
    layer l > 0 gets the D*H outputs of the layer below. Stacking, bidirectional, lengths=
    (padded batches), batch_first, h0, dropout between layers and the shapes are those of
    tr.nn.RNN; a cell with several states (("h", "c")) takes and returns them as a tuple,
    like tr.nn.LSTM. Each step runs the cell's forward (per op, autograd does BPTT).

    Parameters are named after the cell's, with torch's suffixes: a cell's `weight_hh` is
    `weight_hh_l0`, `weight_hh_l0_reverse`, `weight_hh_l1`, ...; so Recurrent(tr.nn.LSTMCell,
    ...) has exactly the state_dict of tr.nn.LSTM (and torch.nn.LSTM). A sub-module's
    parameters keep their dots: `gate.weight_l0`.

    Args:
        cell: called as `cell(input_size, hidden_size)` once per layer and
            direction; must return a `RecurrentCell` of those sizes.
        input_size: I, the size of each input vector.
        hidden_size: H, the size of each hidden state.
        num_layers: L, stacked layers.
        batch_first: inputs and outputs are (B, T, ...) instead of (T, B, ...).
        dropout: the probability of dropout between layers, in training mode.
        bidirectional: run a second direction from the end of each sequence.

    Raises:
        TypeError: the factory returned something that is not a RecurrentCell, or
            cells whose parameters have different dtypes.
        ValueError: a cell has other sizes than asked, or a size or dropout is out of range.
    """

    def __init__(
        self,
        cell: Callable[[int, int], RecurrentCell],
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ):
        self._configure(input_size, hidden_size, num_layers, batch_first, dropout, bidirectional, np.float64)
        D, cells = self.num_directions, []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * D
            for _ in range(D):
                cells.append(_check_cell(cell(layer_input, hidden_size), layer_input, hidden_size))
        dtypes = {p.dtype for c in cells for p in c.parameters()} or {np.dtype(np.float64)}
        if len(dtypes) > 1:
            raise TypeError(f"Recurrent: the cells' parameters must share one dtype, got {sorted(map(str, dtypes))}")
        self.dtype, self.fused = dtypes.pop(), False
        self.state_names = tuple(f"{name}0" for name in cells[0].state_names)
        suffixes = [suffix for layer in range(num_layers) for suffix in self._suffixes(layer)]
        for c, suffix in zip(cells, suffixes):
            for name, p in c.named_parameters():  # the same Parameter objects, under the layer's names
                setattr(self, f"{name}{suffix}", p)
        self.cells = cells  # after the parameters: named_parameters() lists each once, by its first name

    def _steps(self, layer: int, reverse: bool, x: Tensor) -> tuple[list[Tensor], Callable]:
        cell = self.cells[layer * self.num_directions + reverse]
        if len(self.state_names) == 1:
            return unbind(x), lambda x_t, state: (cell(x_t, state[0]),)
        return unbind(x), lambda x_t, state: tuple(cell(x_t, state))


def _check_cell(cell, input_size: int, hidden_size: int) -> RecurrentCell:
    """The cell made for one layer and direction, after checking it is a RecurrentCell of the asked sizes."""
    if not isinstance(cell, RecurrentCell):
        raise TypeError(f"Recurrent: the cell factory must return a tr.nn.RecurrentCell, got {type(cell).__name__}")
    sizes = (getattr(cell, "input_size", None), getattr(cell, "hidden_size", None))
    if sizes != (input_size, hidden_size):
        raise ValueError(
            f"Recurrent: expected a cell with (input_size, hidden_size) = {(input_size, hidden_size)}, "
            f"got {type(cell).__name__} with {sizes}"
        )
    return cell
