"""Training from counted windows is the per-example optimization, not an approximation: the lecture's one-hot
loop for the neural bigram, and the per-example loss for the MLP."""

import torch
import torch.nn.functional as F
from helpers import new, scalars, trained_both_ways

from makemore import checkpoint
from makemore.models import MLP


def lecture_training(path, steps, lr, reg, seed):
    """The lecture's loop: one-hot inputs, W, softmax, mean NLL + reg * (W**2).mean(), float32."""
    words = path.read_text().splitlines()
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)} | {".": 0}
    xs, ys = [], []
    for w in words:
        chs = ["."] + list(w) + ["."]
        for ch1, ch2 in zip(chs, chs[1:]):
            xs.append(stoi[ch1])
            ys.append(stoi[ch2])
    xs, ys = torch.tensor(xs), torch.tensor(ys)
    W = torch.randn((27, 27), generator=torch.Generator().manual_seed(seed), requires_grad=True)
    xenc = F.one_hot(xs, num_classes=27).float()
    losses = []
    for _ in range(steps + 1):
        counts = (xenc @ W).exp()
        probs = counts / counts.sum(1, keepdims=True)
        loss = -probs[torch.arange(len(ys)), ys].log().mean() + reg * (W**2).mean()
        losses.append(loss.item())
        if len(losses) > steps:
            break
        W.grad = None
        loss.backward()
        W.data += -lr * W.grad
    return losses, W.detach()


def test_count_matrix_training_matches_the_lectures_one_hot_training(train_run, names_subset):
    out, _ = train_run(
        "model=neural",
        f"data.path={names_subset}",
        "data.val_fraction=0",
        "data.test_fraction=0",
        "steps=100",
        "lr=50",
        "reg=0.01",
        "seed=2147483647",
    )
    losses, W = lecture_training(names_subset, steps=100, lr=50.0, reg=0.01, seed=2147483647)
    logged = [v for _, v in scalars(out)["train/loss"]]
    assert len(logged) == 101
    assert max(abs(a - b) for a, b in zip(logged, losses)) < 1e-5
    model, _, _ = checkpoint.load(out / "checkpoint.pt")
    assert (model.W.detach() - W).abs().max() < 1e-5


def test_mlp_full_batch_from_counted_windows_equals_the_per_example_path(names_subset):
    curves, models, data, every = trained_both_ways(
        names_subset,
        lambda: new(MLP, context=3, n_hidden=50),  # smaller than the default: the same sums, sooner
        lambda params: torch.optim.AdamW(params, lr=0.01),
        steps=50,
    )
    assert len(data.counted(3).X) < every.count() / 3  # far fewer windows than examples
    assert max(abs(a - b) for a, b in zip(*curves)) < 1e-5
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        assert (a - b).abs().max() < 1e-5
