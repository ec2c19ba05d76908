"""Longer contexts: one key for every windowed model, with the bigram numbers unchanged at context 1."""

import itertools
from collections import Counter

import pytest
import torch
from helpers import NAMES, compose_config, metrics, new, whole

from makemore import MakemoreError, checkpoint
from makemore.data import read_words
from makemore.inference import sample, score
from makemore.models import Counts, Neural
from makemore.training import run


@pytest.fixture(scope="module")
def names():
    return read_words(NAMES)


def counts(names, context, smoothing):
    model = new(Counts, context=context, smoothing=smoothing)
    model.fit(whole(names))
    return model


def test_counts_and_neural_agree_for_context_2(names):
    data = whole(names)
    neural = new(Neural, context=2)
    # AdamW reaches the optimum in far fewer steps than the lecture's gradient descent; the optimum is the
    # point
    optimizer = torch.optim.AdamW(neural.parameters(), lr=0.5, weight_decay=0.0)
    for _ in range(300):
        optimizer.zero_grad()
        data.nll(neural).backward()
        optimizer.step()
    assert data.nll(neural).item() == pytest.approx(data.nll(counts(names, 2, 0.0)).item(), abs=0.01)


@pytest.mark.parametrize("context", [2, 3])
@pytest.mark.parametrize("smoothing", [0.0, 0.5])
def test_every_window_gets_a_distribution_even_one_never_seen(names, context, smoothing):
    model = counts(names, context, smoothing)
    every = torch.tensor(list(itertools.product(range(27), repeat=context)))
    assert len(model.X) < len(every)  # some windows never occur, and still get a distribution
    P = model(every)[:, -1].exp()
    assert torch.allclose(P.sum(1), torch.ones(len(every), dtype=P.dtype))


@pytest.mark.parametrize("batched", [False, True])
def test_sampling_with_context_3_is_reproducible(names, batched):
    model = counts(names, 3, 0.1)
    first = sample(model, 50, seed=5, batched=batched)
    assert first == sample(model, 50, seed=5, batched=batched) != sample(model, 50, seed=6, batched=batched)
    assert all(0 not in word for word in first)


def test_score_reads_the_padded_context_of_each_character(names):
    model = counts(names, 2, 1.0)
    a, b = names.vocab.stoi["a"], names.vocab.stoi["b"]  # "ab" is predicted from "..", ".a", "ab"
    logp = model(torch.tensor([[0, 0], [0, a], [a, b]]))[:, -1]
    expected = -(logp[0, a] + logp[1, b] + logp[2, 0]) / 3
    assert score(model, names.vocab, ["ab"])[0] == pytest.approx(expected.item())


def test_context_1_samples_are_the_lectures(names):
    """The lecture's own loop on the lecture's own P = (N + 1) normalized gives the same names."""
    stoi = names.vocab.stoi
    # the lecture's count of each bigram, in a plain dict rather than the tensor: as fast as Python
    bigrams = Counter()
    for w in NAMES.read_text().split():
        chs = ["."] + list(w) + ["."]
        bigrams.update(zip(chs, chs[1:]))
    N = torch.zeros((27, 27), dtype=torch.int32)
    for (ch1, ch2), n in bigrams.items():
        N[stoi[ch1], stoi[ch2]] = n
    P = (N + 1).float()
    P /= P.sum(1, keepdims=True)
    g = torch.Generator().manual_seed(2147483647)
    lecture = []
    for _ in range(20):
        out, ix = [], 0
        while True:
            ix = torch.multinomial(P[ix], num_samples=1, replacement=True, generator=g).item()
            if ix == 0:
                break
            out.append(names.vocab.itos[ix])
        lecture.append("".join(out))
    assert [names.vocab.decode(w) for w in sample(counts(names, 1, 1.0), 20, seed=2147483647)] == lecture


def test_a_neural_table_too_large_for_memory_is_refused_with_its_size(tmp_path):
    cfg = compose_config(f"data.path={NAMES}", "model=neural", "context=9")
    with pytest.raises(
        MakemoreError, match=r"W of 7,625,597,484,987 x 27 weights need about .* GiB.*shorter context"
    ):
        run(cfg, tmp_path)
    assert not (tmp_path / "checkpoint.pt").exists()


@pytest.mark.parametrize("context", [8, 20])
def test_the_counts_model_stores_only_the_windows_that_occur(names, context):
    model = counts(names, context, 0.1)
    assert len(model.X) <= whole(names).total  # never 27**context rows
    assert model.N.sum() == whole(names).total
    assert score(model, names.vocab, ["emma"])[0] < score(model, names.vocab, ["qzxv"])[0]


def test_a_context_3_run_samples_and_scores_from_its_checkpoint(train_run, names_subset):
    """As the sample and score commands do (test_cli: the commands)."""
    out, _ = train_run(f"data.path={names_subset}", "model=neural", "context=3", "steps=5", "sample.count=4")
    model, vocab, state = checkpoint.load(out / "checkpoint.pt")
    drawn = sample(model, 4, state["config"]["seed"], max_length=state["config"]["sample"]["max_length"])
    assert [vocab.decode(w) for w in drawn] == (out / "samples.txt").read_text().splitlines()
    (nll,) = score(model, vocab, ["emma"])
    assert 0 < nll < 10 and metrics(out)["steps"] == 5
