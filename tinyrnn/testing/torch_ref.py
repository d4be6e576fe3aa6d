"""torch references for tinyrnn's layers (torch is imported only when one is asked for)."""

from __future__ import annotations


def torch_twin(module):
    """The torch layer with `module`'s configuration and weights (float64), loaded through `module.state_dict()`.

    Loading through the state dict checks the parameter names too. torch is
    imported only here.

    Args:
        module: a tr.nn.RNN, GRU or LSTM, or a tr.nn.Recurrent of RNNCell,
            GRUCell or LSTMCell (a GRU with torch's reset_after=True).

    Returns:
        The float64 torch.nn.RNN, GRU or LSTM with the same weights.

    Raises:
        TypeError: torch has no such layer (another cell, or reset_after=False).
    """
    import torch

    from tinyrnn import nn

    kwargs = dict(num_layers=module.num_layers, batch_first=module.batch_first, dropout=module.dropout)
    kwargs["bidirectional"] = module.bidirectional
    if isinstance(module, nn.Recurrent):
        cell = module.cells[0]
        kind, kwargs["bias"] = type(cell).__name__.removesuffix("Cell"), getattr(cell, "bias_ih", None) is not None
    else:
        kind, kwargs["bias"] = type(module).__name__, module.bias
        cell = module
    if kind not in ("RNN", "GRU", "LSTM") or not getattr(cell, "reset_after", True):
        raise TypeError(f"torch_twin: torch has no twin of {type(module).__name__} with {type(cell).__name__}")
    if kind == "RNN":
        kwargs["nonlinearity"] = getattr(cell, "nonlinearity", "tanh")
    twin = getattr(torch.nn, kind)(module.input_size, module.hidden_size, **kwargs).double()
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in module.state_dict().items()})
    return twin
