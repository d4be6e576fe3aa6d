"""BPTT by hand: backward passes through time written out in plain NumPy, no autograd.

binary_add   the classic binary-addition RNN (sigmoid cell), its BPTT by hand
dinos        the course's dinosaur-name RNN (tanh cell, softmax output), its BPTT by hand

The tests check each against tinyrnn's autograd and against finite differences.
"""
