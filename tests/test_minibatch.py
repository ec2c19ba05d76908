"""Full batch from counted windows is the per-example loss exactly; minibatches draw examples with the
seed."""

import numpy as np
import pytest
import torch
from helpers import ROOT, compose_config, metrics, new, scalars

from makemore.batches import Split
from makemore.data import read_words, split
from makemore.models import MLP, Neural
from makemore.training import Trainer, build


def train_split(path):
    words = read_words(path)
    keep = split(len(words), 0.1, 0.1, 42) == 0
    return Split(words.ids[np.repeat(keep, words.lengths)], words.lengths[keep], len(words.vocab))


@pytest.mark.parametrize("model", [new(Neural, context=1), new(Neural, context=2), new(MLP, context=3)])
def test_per_example_nll_over_all_examples_equals_the_counted_windows_nll(names_subset, model):
    train = train_split(names_subset)
    every = train.examples(np.arange(train.size(model)), model)
    assert every.count() == train.total
    assert every.nll(model).item() == pytest.approx(train.counted(model.context).nll(model).item(), rel=1e-6)


def test_words_and_windows_are_the_same_examples(names_subset):
    """A windowed model scores whole padded words as it scores their windows one by one."""
    train, model = train_split(names_subset), new(MLP, context=3)
    words = train.words(np.arange(len(train.lengths)), model.pad)
    assert words.nll(model).item() == pytest.approx(train.nll(model).item(), rel=1e-6)


def test_minibatch_training_lowers_the_loss_and_is_fixed_by_the_seed(train_run, names_subset):
    runs = [
        train_run("model=neural", f"data.path={names_subset}", "batch_size=64", "steps=50", f"seed={s}")[0]
        for s in (1, 1, 2)
    ]
    loss = [[v for _, v in scalars(out)["train/loss"]] for out in runs]
    assert loss[0] == loss[1] != loss[2]
    nll = [v for _, v in scalars(runs[0])["train/nll"]]
    assert nll[-1] < nll[0] - 0.5
    assert metrics(runs[0]) | {"seconds": 0} == metrics(runs[1]) | {"seconds": 0}


def test_minibatch_of_the_whole_set_follows_the_full_batch_curve(train_run, names_subset):
    full, _ = train_run("model=neural", f"data.path={names_subset}", "steps=5")
    # with a batch as large as the data the draws still repeat examples, so the curves are close, not equal
    mini, _ = train_run("model=neural", f"data.path={names_subset}", "steps=5", "batch_size=200000")
    a, b = (torch.tensor([v for _, v in scalars(o)["val/nll"]]) for o in (full, mini))
    assert torch.allclose(a, b, atol=0.02)


@pytest.mark.parametrize("model, examples", [("neural", "predictions"), ("transformer", "words")])
def test_a_batch_larger_than_the_train_split_is_said_and_runs(train_run, tmp_path, caplog, model, examples):
    """The sequence models' own batch_size=128 on a file of 50 names (40 in train): drawn with replacement, as
    any minibatch; it was silent."""
    path = tmp_path / "names50.txt"
    path.write_text("".join(f"{w}\n" for w in (ROOT / "data" / "names.txt").read_text().split()[:50]))
    out, _ = train_run(
        f"model={model}",
        "model.n_layer=1" if model == "transformer" else "batch_size=100000",
        f"data.path={path}",
        "steps=2",
        "sample.count=0",
        "figures=false",
    )
    (line,) = [r.getMessage() for r in caplog.records if "batch_size" in r.getMessage()]
    assert "of the train split" in line and examples in line and "batch_size=null" in line
    assert metrics(out)["steps"] == 2


@pytest.mark.parametrize("model", ["transformer", "gru"])
def test_a_minibatch_in_pieces_of_similar_length_is_the_same_loss_and_gradient(names_subset, model):
    """batch_pieces: the same words drawn by the seed, each piece padded to its own longest word; the loss and
    every gradient those of the whole minibatch padded to its longest."""
    train = train_split(names_subset)

    def loss_and_grads(pieces):
        cfg = compose_config(f"model={model}", "model.n_embd=8", "context=16", f"batch_pieces={pieces}")
        net = build(cfg, 27, torch.device("cpu"))
        loss = Trainer(net, cfg).nll(net, train)
        loss.backward()
        return loss.item(), [p.grad for p in net.parameters()]

    (whole, grads), *pieces = [loss_and_grads(n) for n in (1, 2, 5)]
    for loss, g in pieces:
        assert loss == pytest.approx(whole, rel=1e-12)
        assert all(torch.allclose(a, b, rtol=1e-4, atol=1e-7) for a, b in zip(grads, g))
