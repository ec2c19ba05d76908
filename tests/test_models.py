"""The lecture's models, as the lecture defines them, and where the mathematics says they agree."""

import math

import pytest
import torch
from helpers import NAMES, new, whole

from makemore.data import read_words
from makemore.inference import score
from makemore.models import Counts, Neural


@pytest.fixture(scope="module")
def names():
    return read_words(NAMES)


def trained(model, data, steps, lr=50.0, reg=0.0):
    """Plain gradient descent on the full-batch loss, as the training loop does it by default."""
    model.fit(data)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        model.penalized(data.nll(model), reg).backward()
        optimizer.step()
    return model


def counts(names, smoothing, context=1):
    model = new(Counts, context=context, smoothing=smoothing)
    model.fit(whole(names))
    return model


def test_unsmoothed_counts_give_the_lectures_nll(names):
    assert whole(names).nll(counts(names, 0.0)).item() == pytest.approx(2.4540, abs=5e-4)


def test_rows_of_P_sum_to_one_for_any_smoothing(names):
    for s in (0.0, 1.0, 1000.0):
        P = counts(names, s)(torch.arange(27)[:, None])[:, -1].exp()
        assert torch.allclose(P.sum(1), torch.ones(27, dtype=P.dtype))


def test_smoothing_pulls_the_counts_model_towards_uniform(names):
    nlls = [whole(names).nll(counts(names, s)).item() for s in (0.0, 1.0, 100.0, 1e9)]
    assert nlls == sorted(nlls)
    assert nlls[-1] == pytest.approx(math.log(27), abs=1e-3)


def test_unseen_bigram_has_infinite_nll_without_smoothing(names):
    model = counts(names, 0.0)
    assert model.N[model.X[:, 0] == 17, 17].sum() == 0  # "qq" never occurs in names.txt
    assert score(model, names.vocab, ["qq"]) == [math.inf]
    assert math.isfinite(score(counts(names, 0.1), names.vocab, ["qq"])[0])


def test_a_counts_table_loads_from_its_state_dict(names):
    model = counts(names, 0.5, context=2)
    again = new(Counts, context=2, smoothing=0.5)
    again.load_state_dict(model.state_dict())
    assert whole(names).nll(again).item() == whole(names).nll(model).item()


def test_neural_starts_from_the_lectures_random_weights():
    torch.manual_seed(2147483647)
    W = new(Neural, context=1).W
    assert torch.equal(W.detach(), torch.randn((27, 27), generator=torch.Generator().manual_seed(2147483647)))


@pytest.mark.parametrize("context", [1, 2])
def test_neural_logits_of_every_window_in_order_are_the_rows_picked_one_by_one(context):
    """Given every window in order (a bigram's distinct windows), the model's logits are W itself, not a
    gather of its rows: the same values and the same gradient as picking each window's row in another
    order."""
    torch.manual_seed(0)
    model = new(Neural, context=context)
    every = torch.cartesian_prod(*[torch.arange(27)] * context).view(-1, context)
    order = torch.randperm(len(every))
    picked = model.next_logits(every[order])
    target = torch.randn(picked.shape)
    (picked * target).sum().backward()
    by_row = model.W.grad.clone()
    model.W.grad = None
    whole = model.next_logits(every)
    (whole[order] * target).sum().backward()
    assert torch.equal(whole[order], picked) and torch.equal(model.W.grad, by_row)
    assert torch.equal(model.next_logits(every[:5]), model.W[:5])  # a few windows: their rows


def test_neural_without_reg_converges_to_the_counts_model(names):
    neural = trained(new(Neural, context=1), whole(names), steps=3000)
    assert whole(names).nll(neural).item() == pytest.approx(
        whole(names).nll(counts(names, 0.0)).item(), abs=0.01
    )


def test_reg_keeps_the_neural_model_above_the_counts_model(names):
    neural = trained(new(Neural, context=1), whole(names), steps=300, reg=0.1)
    assert whole(names).nll(neural).item() > whole(names).nll(counts(names, 0.0)).item() + 0.01


def test_the_counts_model_finds_its_windows_in_a_vocabulary_of_more_than_256_characters(tmp_path):
    path = tmp_path / "w.txt"
    path.write_text(
        "".join(chr(0x4E00 + i) + chr(0x4E00 + (i * 7) % 300) + "\n" for i in range(300)), encoding="utf-8"
    )
    words = read_words(path)
    model = new(Counts, len(words.vocab), context=1, smoothing=0.0)
    model.fit(whole(words))
    pairs, rows = {}, {}  # the lecture's counting, in plain Python
    for w in path.read_text(encoding="utf-8").split():
        for a, b in zip("." + w, w + "."):
            pairs[a, b] = pairs.get((a, b), 0) + 1
            rows[a] = rows.get(a, 0) + 1
    expected = -sum(n * math.log(n / rows[a]) for (a, _), n in pairs.items()) / sum(pairs.values())
    assert whole(words).nll(model).item() == pytest.approx(expected, rel=1e-9)
