"""BPTT by hand: backward passes through time written out in plain NumPy, no autograd.

reference    every cell's forward and backward over a whole sequence, one equation per
             line: RNN (tanh, relu), GRU (torch's and Cho et al.'s), LSTM, with padding.
             The fused kernels (tinyrnn/nn/fused_*.py) compute these equations, rearranged
             for speed.
binary_add   the classic binary-addition RNN (sigmoid cell), its BPTT by hand
dinos        the course's dinosaur-name RNN (tanh cell, softmax output), its BPTT by hand

The tests check each against tinyrnn's autograd (and reference against the fused
kernels and torch, binary_add and dinos against finite differences).
"""
