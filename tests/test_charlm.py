"""tinyrnn.charlm as a library: state handling of the two samplers, detaching,
perplexity and generation. (The command line is tested in test_charlm_cli.py.)"""

import gc
import tracemalloc

import numpy as np
import pytest

import tinyrnn as tr
from tinyrnn import functional as F
from tinyrnn.apps.charlm import CharLM, batch_losses, generate, text_perplexity
from tinyrnn.data.text import Vocab, random_batches, sequential_batches

TEXT = "the cat sat on the mat. the dog sat on the log. " * 8


def small_model(cell="gru", vocab_size=None, layers=1, embed=0, dtype="float64"):
    tr.manual_seed(0)
    return CharLM(vocab_size or len(Vocab(TEXT)), cell, 6, layers, embed, dtype)


def graph_size(root: tr.Tensor) -> int:
    """Number of distinct nodes reachable from root through _parents."""
    seen, stack = set(), [root]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            stack.extend(node._parents)
    return len(seen)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_sequential_batches_carry_the_state_exactly(cell):
    """Reading the batches one after another with the carried state gives the same
    losses as reading each row of the text in one piece."""
    corpus = Vocab(TEXT).encode(TEXT)
    model = small_model(cell, layers=2)
    losses = [loss.item() for loss in batch_losses(model, corpus, "sequential", 3, 5, np.random.default_rng(7))]
    batches = list(sequential_batches(corpus, 3, 5, np.random.default_rng(7)))
    xs, ys = np.concatenate([x for x, _ in batches]), np.concatenate([y for _, y in batches])
    logits, _ = model(xs)
    whole = F.cross_entropy(logits.reshape(-1, model.vocab_size), ys.reshape(-1), reduction="none")
    per_batch = whole.data.reshape(len(batches), -1).mean(axis=1)
    np.testing.assert_allclose(losses, per_batch, rtol=1e-12)


def test_random_batches_start_from_a_zero_state():
    corpus = Vocab(TEXT).encode(TEXT)
    model = small_model("lstm")
    losses = [loss.item() for loss in batch_losses(model, corpus, "random", 3, 5, np.random.default_rng(7))]
    fresh = []
    for x, y in random_batches(corpus, 3, 5, np.random.default_rng(7)):
        logits, _ = model(x)
        fresh.append(F.cross_entropy(logits.reshape(-1, model.vocab_size), y.reshape(-1)).item())
    assert len(losses) > 5
    np.testing.assert_allclose(losses, fresh, rtol=1e-12)


def train_and_measure(losses, opt, count: int, probes: tuple) -> tuple[list[int], dict[int, int]]:
    """Train on `count` batches; return the graph size of each loss, and at the
    batches in `probes` the traced memory in use while that batch's loss is alive."""
    sizes, memory = [], {}
    tracemalloc.start()
    try:
        for i, loss in zip(range(count), losses):
            opt.zero_grad()
            loss.backward()
            opt.step()
            sizes.append(graph_size(loss))
            if i in probes:
                gc.collect()  # count what is reachable, not cyclic garbage awaiting collection
                memory[i] = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(sizes) == count
    return sizes, memory


def test_sequential_sampling_detaches_so_the_graph_and_memory_stay_flat():
    text = TEXT * 6
    corpus = Vocab(text).encode(text)
    model = small_model("lstm", layers=2)
    opt = tr.optim.SGD(model.parameters(), lr=0.1)
    losses = batch_losses(model, corpus, "sequential", 2, 4, np.random.default_rng(0))
    sizes, memory = train_and_measure(losses, opt, 200, probes=(99, 199))
    assert len(set(sizes[1:])) == 1  # every batch after the first has the same graph
    assert sizes[0] <= sizes[1]
    # Flat over the last 100 batches: an undetached state would keep every earlier graph,
    # 26 KB per batch here (116 KB with fused=False layers), so +2.6 MB or more. What does
    # grow, by ~10 KB, is bounded interpreter caches (e.g. CPython's type-attribute cache
    # keeping the names getattr looked up); they level off however long training runs.
    assert memory[199] - memory[99] < 500_000


def test_the_graph_measure_sees_an_undetached_state_grow():
    """The control for the test above: carrying the state without detach() makes
    every loss depend on every earlier batch, and both measures catch it."""
    text = TEXT * 3
    corpus = Vocab(text).encode(text)
    model = small_model("lstm", layers=2)
    opt = tr.optim.SGD(model.parameters(), lr=0.1)

    def undetached():
        state = None
        for x, y in sequential_batches(corpus, 2, 4, np.random.default_rng(0)):
            logits, state = model(x, state)
            yield F.cross_entropy(logits.reshape(-1, model.vocab_size), y.reshape(-1))

    sizes, memory = train_and_measure(undetached(), opt, 30, probes=(2, 29))
    assert all(later > earlier for earlier, later in zip(sizes, sizes[1:]))
    assert sizes[29] > 10 * sizes[0]
    assert memory[29] > 2 * memory[2]


def test_perplexity_of_a_uniform_model_is_the_vocabulary_size():
    vocab = Vocab(TEXT)
    model = small_model()
    model.head.weight.data[...] = 0  # every logit 0: each character has probability 1/V
    model.head.bias.data[...] = 0
    assert text_perplexity(model, vocab.encode(TEXT), streams=4, chunk=7) == pytest.approx(len(vocab), rel=1e-12)


def test_perplexity_does_not_depend_on_how_the_text_is_chunked():
    corpus = Vocab(TEXT).encode(TEXT)
    model = small_model("lstm", embed=5)
    assert text_perplexity(model, corpus, 3, 4) == pytest.approx(text_perplexity(model, corpus, 3, 50), rel=1e-12)


def test_generate_feeds_back_its_own_characters():
    vocab = Vocab(TEXT)
    model = small_model("lstm")
    rng = np.random.default_rng(0)
    greedy = generate(model, vocab, "the", 12, 0.0, rng)
    assert greedy.startswith("the") and len(greedy) == 15
    # the greedy choice is the argmax of the model run over everything written so far
    logits, _ = model(vocab.encode(greedy[:-1])[:, None])
    assert vocab.tokens[int(logits.data[-1, 0].argmax())] == greedy[-1]
    hot = [generate(model, vocab, "the", 12, 2.0, np.random.default_rng(s)) for s in range(4)]
    assert len(set(hot)) > 1  # sampling at a high temperature varies with the seed
    assert hot[0] == generate(model, vocab, "the", 12, 2.0, np.random.default_rng(0))
