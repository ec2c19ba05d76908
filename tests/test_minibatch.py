"""Minibatch SGD: the per-example path that larger models will need."""

import pytest
import torch

from conftest import metrics
from makemore.data import count, read_words, split, split_examples
from makemore.models import Neural, Stats
from test_training import scalars


def test_per_example_nll_over_all_examples_equals_the_count_matrix_nll(names_subset):
    words = read_words(names_subset)
    labels = split(len(words), 0.1, 0.1, 42)
    for context in (1, 2):
        train = Stats.of(count(words, labels, context)[0])
        ctx, y = split_examples(words, labels, 0, context)
        model = Neural(len(words.vocab), context=context)
        assert len(y) == train.total
        assert model.nll_examples(ctx, y).item() == pytest.approx(model.nll(train).item(), rel=1e-6)


def test_minibatch_training_lowers_the_loss_and_is_fixed_by_the_seed(train_run, names_subset):
    runs = [train_run("model=neural", f"data.path={names_subset}", "batch_size=64", "steps=50", f"seed={s}")[0]
            for s in (1, 1, 2)]
    loss = [[v for _, v in scalars(out)["train/loss"]] for out in runs]
    assert loss[0] == loss[1] != loss[2]
    nll = [v for _, v in scalars(runs[0])["train/nll"]]
    assert nll[-1] < nll[0] - 0.5
    assert metrics(runs[0]) | {"seconds": 0} == metrics(runs[1]) | {"seconds": 0}


def test_minibatch_of_the_whole_set_follows_the_full_batch_curve(train_run, names_subset):
    full, _ = train_run("model=neural", f"data.path={names_subset}", "steps=5")
    # with a batch as large as the data the draws still repeat examples, so the curves are close, not equal
    mini, _ = train_run("model=neural", f"data.path={names_subset}", "steps=5", "batch_size=200000")
    a, b = (torch.tensor([v for _, v in scalars(o)["train/nll"]]) for o in (full, mini))
    assert torch.allclose(a, b, atol=0.02)
