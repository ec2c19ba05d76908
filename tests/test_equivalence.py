"""Training from the count matrix is the lecture's per-example one-hot optimization, not an approximation."""

import torch
import torch.nn.functional as F

from conftest import NAMES
from makemore import checkpoint
from test_training import scalars


def lecture_training(steps, lr, reg, seed):
    """The lecture's loop: one-hot inputs, W, softmax, mean NLL + reg * (W**2).mean(), float32."""
    words = NAMES.read_text().splitlines()
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


def test_count_matrix_training_matches_the_lectures_one_hot_training(train_run):
    out, _ = train_run("model=neural", f"data.path={NAMES}", "data.val_fraction=0", "data.test_fraction=0",
                       "steps=100", "lr=50", "reg=0.01", "seed=2147483647")
    losses, W = lecture_training(steps=100, lr=50.0, reg=0.01, seed=2147483647)
    logged = [v for _, v in scalars(out)["train/loss"]]
    assert len(logged) == 101
    assert max(abs(a - b) for a, b in zip(logged, losses)) < 1e-5
    model, _, _ = checkpoint.load(out / "checkpoint.pt")
    assert (model.weights().detach() - W).abs().max() < 1e-5
