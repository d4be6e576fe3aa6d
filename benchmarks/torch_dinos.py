"""The classic dinosaur-name setup in PyTorch (float64, CPU): the same model, data,
seed policy and course details as tinyrnn/bptt/dinos.py and `tinyrnn.dinos
--preset classic`, trained with torch.nn.RNN + Linear and torch's autograd.

The weights start from tinyrnn.bptt.dinos.init_params and are copied back at the
end to be scored by tinyrnn.bptt.dinos.nll, so all three score the same way.

    python benchmarks/torch_dinos.py [--steps 35000] [--seed 0] [--data FILE] [--metrics FILE]
"""

from __future__ import annotations

import time

import numpy as np
import torch

from tinyrnn.bptt.dinos import encode, init_params, main, one_hot, summary
from tinyrnn.data.names import Alphabet, split_names


def train(names: list[str], steps: int, seed: int, hidden: int = 50, lr: float = 0.01, log=print) -> dict:
    torch.set_num_threads(1)
    train_names, heldout = split_names(names)
    alphabet = Alphabet.from_names(names)
    V = len(alphabet)
    rng = np.random.default_rng(seed)
    p = init_params(rng, V, hidden)
    order = rng.permutation(len(train_names))
    rnn = torch.nn.RNN(V, hidden, dtype=torch.float64)
    head = torch.nn.Linear(hidden, V, dtype=torch.float64)
    with torch.no_grad():
        for name, value in [("weight_ih_l0", p["w_ih"]), ("weight_hh_l0", p["w_hh"]), ("bias_ih_l0", p["b"])]:
            getattr(rnn, name).copy_(torch.from_numpy(value))
        rnn.bias_hh_l0.zero_()
        head.weight.copy_(torch.from_numpy(p["w_out"]))
        head.bias.copy_(torch.from_numpy(p["b_out"]))
    rnn.bias_hh_l0.requires_grad_(False)  # one hidden bias, as in the course (b_ih + b_hh with b_hh = 0)
    params = [q for q in [*rnn.parameters(), *head.parameters()] if q.requires_grad]
    opt = torch.optim.SGD(params, lr=lr)
    h, loss_avg = torch.zeros(1, 1, hidden, dtype=torch.float64), -np.log(1 / V) * 7
    start, cpu_start = time.perf_counter(), time.process_time()
    for j in range(steps):
        x, y = encode(train_names[order[j % len(order)]], alphabet)
        out, h_n = rnn(torch.from_numpy(one_hot(x, V)[:, None, :]), h)
        loss = torch.nn.functional.cross_entropy(head(out[:, 0]), torch.from_numpy(y), reduction="sum")
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(params, 5.0)
        opt.step()
        h = h_n.detach()
        loss_avg = 0.999 * loss_avg + 0.001 * loss.item()
        if (j + 1) % 2000 == 0:
            log(f"step {j + 1:6d}  loss {loss_avg:.3f}")
    with torch.no_grad():
        p = {
            "w_ih": rnn.weight_ih_l0.numpy().copy(),
            "w_hh": rnn.weight_hh_l0.numpy().copy(),
            "b": rnn.bias_ih_l0.numpy().copy(),
            "w_out": head.weight.numpy().copy(),
            "b_out": head.bias.numpy().copy(),
        }
    return summary(p, alphabet, train_names, heldout, steps, start, cpu_start)


if __name__ == "__main__":
    main(train, __doc__)
