"""tinyrnn.testing: test your own ops, cells and hand-written BPTT the way tinyrnn tests its own.

Install with `pip install "tinyrnn[testing]"` (adds hypothesis; torch only if you pass
a torch reference).

- strategies: hypothesis strategies (floats away from kinks, shapes, arrays, Tensors,
  broadcastable shapes, padded batches with lengths, recurrent-layer configurations);
- check_op: forward against a NumPy reference, backward against central differences,
  optionally both against torch;
- check_complex_step: backward against complex-step derivatives (exact to rounding),
  refused for non-analytic functions;
- check_module: a Module's backward over its inputs and every parameter;
- check_bptt: a hand-written forward/backward over a sequence against autograd through a
  cell, naming the first wrong gradient and time step;
- torch_twin: the torch layer equal to a tinyrnn RNN/GRU/LSTM (needs torch).

Every check raises CheckError (an AssertionError: inside a hypothesis test, a failure
shrinks to a small example) naming the input, the index, both values and the tolerance.
"""

from tinyrnn.testing import strategies
from tinyrnn.testing.bptt import check_bptt
from tinyrnn.testing.checks import CheckError, check_module, check_op, fd_step
from tinyrnn.testing.complex_step import NON_ANALYTIC, ComplexStepError, check_complex_step
from tinyrnn.testing.torch_ref import torch_twin

__all__ = [
    "NON_ANALYTIC",
    "CheckError",
    "ComplexStepError",
    "check_bptt",
    "check_complex_step",
    "check_module",
    "check_op",
    "fd_step",
    "strategies",
    "torch_twin",
]
