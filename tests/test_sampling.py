"""Both samplers draw from the model's own distribution, one name at a time or all at once, for any model."""

import numpy as np
import pytest
import torch
from helpers import NAMES, new, whole

from makemore.batches import Split
from makemore.data import read_words
from makemore.inference import sample
from makemore.models import MLP, Counts


@pytest.fixture(scope="module")
def names():
    return read_words(NAMES)


@pytest.mark.parametrize(
    "batched, context, count, cells",
    [
        (True, 2, 20_000, 500),
        pytest.param(False, 1, 1_000, 150, marks=pytest.mark.slow),  # a model call per character: slower
    ],
)
def test_transitions_of_the_samples_follow_P(names, batched, context, count, cells):
    model = new(Counts, context=context, smoothing=0.1)
    model.fit(whole(names))
    drawn = sample(model, count, seed=3, batched=batched)
    samples = Split(
        np.array([i for w in drawn for i in w], dtype=np.uint8), np.array([len(w) for w in drawn]), 27
    )
    seen = samples.counted(context)
    n, P = seen.N.sum(1, keepdim=True).double(), model(seen.X)[:, -1].exp()
    judged = n * P >= 10  # where a count is near enough normal to judge by its standard error
    assert judged.sum() >= cells
    z = (seen.N - n * P)[judged] / (n * P * (1 - P))[judged].sqrt()
    assert z.abs().max() < 5  # the largest of some 1,000 standard normal deviations is about 3.5


@pytest.mark.parametrize("batched", [False, True])
def test_top_k_1_always_draws_the_likeliest_token(names, batched):
    model = new(Counts, context=3, smoothing=0.1)
    model.fit(whole(names))
    greedy = sample(model, 5, seed=1, batched=batched, top_k=1)
    assert greedy == sample(model, 5, seed=2, batched=batched, top_k=1)  # nothing left to chance
    idx = torch.tensor([[0, 0, 0] + greedy[0]])
    assert model(idx)[0].argmax(1).tolist() == greedy[0] + [0]


def test_temperature_sharpens_and_flattens(names):
    model = new(Counts, context=1, smoothing=1.0)
    model.fit(whole(names))
    distinct = {
        t: len(set(map(tuple, sample(model, 300, seed=0, batched=True, temperature=t)))) for t in (0.3, 1, 3)
    }
    assert distinct[0.3] < distinct[1] < distinct[3]


@pytest.mark.parametrize("batched", [False, True])
def test_a_temperature_near_0_draws_the_likeliest_token(names, batched):
    """logits / 1e-310 overflow: that gave a traceback one by one, and 'zzzz...' for every name batched."""
    model = new(Counts, context=3, smoothing=0)  # log 0 = -inf where a count is 0
    model.fit(whole(names))
    assert sample(model, 5, seed=1, batched=batched, temperature=1e-310) == sample(model, 5, seed=1, top_k=1)


@pytest.mark.parametrize("batched", [False, True])
def test_a_name_stops_at_max_length(batched):
    torch.manual_seed(0)
    model = new(MLP, context=2)
    with torch.no_grad():
        model.out.bias[0] = -100  # the end token is never drawn
    drawn = sample(model, 3, seed=0, batched=batched, max_length=7)
    assert [len(w) for w in drawn] == [7, 7, 7]
