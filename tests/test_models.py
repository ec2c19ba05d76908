"""The two models, as the lecture defines them, and where the mathematics says they agree."""

import math

import pytest
import torch

from conftest import NAMES
from makemore.data import count, read_words, split
from makemore.models import Counts, Neural, Stats


@pytest.fixture(scope="module")
def names_stats():
    words = read_words(NAMES)
    return Stats.of(count(words, split(len(words), 0, 0, 0), 1)[0])


def trained(model, stats, steps, lr=50.0):
    model.fit(stats)
    for _ in range(steps):
        model.objective(stats).backward()
        model.step(lr)
    return model


def test_unsmoothed_counts_give_the_lectures_nll(names_stats):
    model = Counts(27, smoothing=0.0)
    model.fit(names_stats)
    assert model.nll(names_stats).item() == pytest.approx(2.4540, abs=5e-4)


def test_rows_of_P_sum_to_one_for_any_smoothing(names_stats):
    for s in (0.0, 1.0, 1000.0):
        model = Counts(27, smoothing=s)
        model.fit(names_stats)
        assert torch.allclose(model.log_probs().exp().sum(1), torch.ones(27, dtype=torch.float64))
        assert torch.allclose(model.probs().sum(1), torch.ones(27))


def test_smoothing_pulls_the_counts_model_towards_uniform(names_stats):
    nlls = []
    for s in (0.0, 1.0, 100.0, 1e9):
        model = Counts(27, smoothing=s)
        model.fit(names_stats)
        nlls.append(model.nll(names_stats).item())
    assert nlls == sorted(nlls)
    assert nlls[-1] == pytest.approx(math.log(27), abs=1e-3)


def test_unseen_bigram_has_infinite_nll_without_smoothing(names_stats):
    model = Counts(27, smoothing=0.0)
    model.fit(names_stats)
    unseen = torch.zeros((27, 27), dtype=torch.int64)
    unseen[17, 17] = 1  # "qq" never occurs in names.txt
    assert names_stats.N[17, 17] == 0
    assert model.nll(Stats.of(unseen)).item() == math.inf


def test_neural_starts_from_the_lectures_random_weights():
    W = Neural(27, seed=2147483647).W
    assert torch.equal(W.detach(), torch.randn((27, 27), generator=torch.Generator().manual_seed(2147483647)))


def test_neural_without_reg_converges_to_the_counts_model(names_stats):
    counts = Counts(27, smoothing=0.0)
    counts.fit(names_stats)
    neural = trained(Neural(27, reg=0.0), names_stats, steps=3000)
    assert neural.nll(names_stats).item() == pytest.approx(counts.nll(names_stats).item(), abs=0.01)


def test_reg_keeps_the_neural_model_above_the_counts_model(names_stats):
    counts = Counts(27, smoothing=0.0)
    counts.fit(names_stats)
    neural = trained(Neural(27, reg=0.1), names_stats, steps=300)
    assert neural.nll(names_stats).item() > counts.nll(names_stats).item() + 0.01
