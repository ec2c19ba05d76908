"""Both samplers draw from the model's own distribution, one name at a time or all at once."""

import numpy as np
import pytest

from conftest import NAMES
from makemore.data import Words, count, read_words, split
from makemore.models import Counts, Stats
from makemore.sampling import sample


@pytest.fixture(scope="module")
def names():
    return read_words(NAMES)


@pytest.mark.parametrize("batched", [False, True])
def test_transitions_of_the_samples_follow_P(names, batched):
    model = Counts(27, context=2, smoothing=0.1)
    model.fit(Stats.of(count(names, split(len(names), 0, 0, 0), 2)[0]))
    drawn = sample(model, 20_000, seed=3, batched=batched)
    ids = np.array([i for w in drawn for i in w], dtype=np.uint8)
    samples = Words(names.vocab, ids, np.array([len(w) for w in drawn], dtype=np.int64), [])
    seen = count(samples, np.zeros(len(samples), dtype=np.int8), 2, splits=1)[0].double()
    n, P = seen.sum(1, keepdim=True), model.log_probs().exp()
    cells = n * P >= 10  # where a count is near enough normal to judge by its standard error
    assert cells.sum() >= 500
    z = (seen - n * P)[cells] / (n * P * (1 - P))[cells].sqrt()
    assert z.abs().max() < 5  # the largest of some 1,000 standard normal deviations is about 3.5
