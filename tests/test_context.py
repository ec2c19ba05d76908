"""Longer contexts: one config key for both models, with the bigram numbers unchanged at context 1."""

import pytest
import torch

from conftest import NAMES, cli, compose_config, metrics
from makemore import MakemoreError
from makemore.data import count, read_words, split
from makemore.models import Counts, Neural, Stats
from makemore.sampling import sample, score
from makemore.training import run


@pytest.fixture(scope="module")
def names():
    return read_words(NAMES)


def stats_of(words, context):
    return Stats.of(count(words, split(len(words), 0, 0, 0), context)[0])


def test_counts_and_neural_agree_for_context_2(names):
    stats = stats_of(names, 2)
    counts = Counts(27, context=2, smoothing=0.0)
    counts.fit(stats)
    neural = Neural(27, context=2, reg=0.0)
    neural.fit(stats)  # 602 of the 729 contexts occur: steps touch only their rows
    for _ in range(10000):
        neural.objective(stats).backward()
        neural.step(50.0)
    assert neural.nll(stats).item() == pytest.approx(counts.nll(stats).item(), abs=0.01)


@pytest.mark.parametrize("context", [2, 3])
@pytest.mark.parametrize("smoothing", [0.0, 0.5])
def test_every_context_row_of_P_sums_to_one(names, context, smoothing):
    counts = Counts(27, context=context, smoothing=smoothing)
    counts.fit(stats_of(names, context))
    assert counts.N.sum(1).eq(0).any()  # some contexts never occur, and still get a distribution
    assert torch.allclose(counts.log_probs().exp().sum(1), torch.ones(27**context, dtype=torch.float64))
    assert torch.allclose(counts.probs().sum(1), torch.ones(27**context))


@pytest.mark.parametrize("batched", [False, True])
def test_sampling_with_context_3_is_reproducible(names, batched):
    counts = Counts(27, context=3, smoothing=0.1)
    counts.fit(stats_of(names, 3))
    first = sample(counts, 50, seed=5, batched=batched)
    assert first == sample(counts, 50, seed=5, batched=batched) != sample(counts, 50, seed=6, batched=batched)
    assert all(0 not in word for word in first)


def test_score_reads_the_padded_context_of_each_character(names):
    counts = Counts(27, context=2, smoothing=1.0)
    counts.fit(stats_of(names, 2))
    stoi, logp = names.vocab.stoi, counts.log_probs()
    a, b = stoi["a"], stoi["b"]  # "ab" is predicted from "..", ".a", "ab"
    expected = -(logp[0, a] + logp[a, b] + logp[a * 27 + b, 0]) / 3
    assert score(counts, names.vocab, ["ab"])[0] == pytest.approx(expected.item())


def test_context_1_samples_are_the_lectures(names):
    """The lecture's own loop on the lecture's own P = (N + 1) normalized gives the same names."""
    stoi = names.vocab.stoi
    N = torch.zeros((27, 27), dtype=torch.int32)
    for w in NAMES.read_text().split():
        chs = ["."] + list(w) + ["."]
        for ch1, ch2 in zip(chs, chs[1:]):
            N[stoi[ch1], stoi[ch2]] += 1
    P = (N + 1).float()
    P /= P.sum(1, keepdims=True)
    g = torch.Generator().manual_seed(2147483647)
    lecture = []
    for _ in range(5):
        out, ix = [], 0
        while True:
            ix = torch.multinomial(P[ix], num_samples=1, replacement=True, generator=g).item()
            if ix == 0:
                break
            out.append(names.vocab.itos[ix])
        lecture.append("".join(out))
    counts = Counts(27, context=1, smoothing=1.0)
    counts.fit(stats_of(names, 1))
    assert [names.vocab.decode(w) for w in sample(counts, 5, seed=2147483647)] == lecture


def test_a_context_too_large_for_memory_is_refused_with_its_size(tmp_path):
    cfg = compose_config(f"data.path={NAMES}", "context=9")
    with pytest.raises(MakemoreError, match=r"context=9 needs tables of .* GiB"):
        run(cfg, tmp_path)
    assert not (tmp_path / "checkpoint.pt").exists()


@pytest.mark.slow
def test_a_context_3_run_samples_and_scores_from_its_checkpoint(tmp_path):
    cli("train.py", f"hydra.run.dir={tmp_path}", "model=neural", "context=3", "steps=5", "sample.count=4")
    ck = tmp_path / "checkpoint.pt"
    assert cli("-m", "makemore.sample", f"checkpoint={ck}", "count=4").stdout.splitlines() == \
        (tmp_path / "samples.txt").read_text().splitlines()
    nll = float(cli("-m", "makemore.score", f"checkpoint={ck}", "words=[emma]").stdout.split()[1])
    assert 0 < nll < 10 and metrics(tmp_path)["steps"] == 5
