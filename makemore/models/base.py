"""The one interface every model shares, as in makemore.py: token ids in, next-token logits out.

A sequence is `pad` start tokens (0) and then the text; `model(idx)` with idx of shape (B, T) returns
logits of shape (B, T - pad, V): one prediction for each position from the pad-th on, each of the token
that follows it. Training, evaluation, sampling and scoring all go through that call and nothing else; a
windowed model's next_logits(windows) is the same call on one window a row, which its counted windows use.
"""

from contextlib import contextmanager

import torch
from torch import nn


class LanguageModel(nn.Module):
    """A sequence model reads everything before a position (up to `context` tokens): pad is 0."""

    windowed = False  # True: a prediction depends only on the last `context` tokens (see Windowed)

    def __init__(self, config, vocab_size):
        super().__init__()
        self.config = config  # the model's config dataclass: its keys, with their defaults and checks
        self.vocab_size = vocab_size
        self.context = config.context
        # moves with the model's tensors, so that its device is known without a walk over them at every step
        self.register_buffer("here", torch.zeros(0), persistent=False)

    @property
    def pad(self):
        return 0

    @property
    def device(self):
        return self.here.device

    def fit(self, train):
        """What the model learns in closed form from the training data before any step (the counts model's
        table); nothing for a model trained by gradient descent."""

    def weights(self):
        """The weight matrices, which `reg` penalizes: those of its linear layers and embeddings."""
        return [m.weight for m in self.modules() if isinstance(m, (nn.Linear, nn.Embedding))]

    def penalized(self, nll, reg):
        """The training loss: the NLL plus reg * mean(W**2) over every entry of the weight matrices (the
        lecture's penalty, on the neural bigram's one W)."""
        weights = self.weights()
        if not reg or not weights:
            return nll
        w = weights[0].view(-1) if len(weights) == 1 else torch.cat([w.view(-1) for w in weights])
        return torch.add(nll, w @ w, alpha=reg / w.numel())  # in two operations

    def heatmap(self):
        """(V x V table, format of a cell) for the lecture's picture of a bigram model, or None."""
        return None


class Windowed(LanguageModel):
    """A model whose prediction depends only on the previous `context` tokens, the start padded with 0 (the
    lecture's '.'): the bigram (context 1), its longer-context tables, and the MLP. Its training data can be
    the distinct windows that occur, each counted, rather than every example."""

    windowed = True

    @property
    def pad(self):
        return self.context - 1

    def forward(self, idx):
        windows = idx.unfold(1, self.context, 1)  # (B, T - pad, context): the window ending at each position
        return self.next_logits(windows.reshape(-1, self.context)).view(*windows.shape[:2], -1)

    def next_logits(self, windows):
        """Logits (N, V) of the token after each window (N, context)."""
        raise NotImplementedError


def place_values(V, context):
    """What each position of a window is worth when the window is read as a number in base V, oldest first."""
    # in Python's integers: torch's int ** tensor imports torch._prims on first use, a large module
    return torch.tensor([V**i for i in range(context - 1, -1, -1)], dtype=torch.int64)


class BatchNorm1d(nn.BatchNorm1d):
    """torch's BatchNorm1d, whose batch may be a windowed model's distinct windows standing for every example:
    with `counts` set (how often each row occurs, by `counted`), its batch statistics in training are those of
    every example, each row weighted by its count, and so is the running statistics' update. A 3-D input (B,
    T, C) is normalized over B and T both (torch's would take C for T), `counts` (B,) standing for each row's
    T positions."""

    counts = None

    def forward(self, x):
        # (B, T, C): each position of each row is an example (the lecture's BatchNorm bug fixed)
        if x.dim() == 3:
            counts = None if self.counts is None else self.counts.repeat_interleave(x.shape[1])
            return self.normalize(x.reshape(-1, x.shape[2]), counts).view_as(x)
        return self.normalize(x, self.counts)

    def normalize(self, x, counts):
        """(N, C) normalized over N, each row weighted by its count where counts is set."""
        if counts is None or not self.training:
            return super().forward(x)
        n = counts.sum()
        w = (counts / n).to(x.dtype)[:, None]
        mean = (w * x).sum(0)
        var = (w * (x - mean) ** 2).sum(0)  # biased, as BatchNorm normalizes
        with torch.no_grad():
            self.num_batches_tracked += 1
            self.running_mean.lerp_(mean, self.momentum)
            self.running_var.lerp_(var * n / (n - 1), self.momentum)  # unbiased, as BatchNorm keeps it
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


@contextmanager
def counted(model, counts):
    """A forward pass over distinct windows that occur `counts` times each: BatchNorm weighs them so."""
    layers = [m for m in model.modules() if isinstance(m, BatchNorm1d)]
    for layer in layers:
        layer.counts = counts
    try:
        yield
    finally:
        for layer in layers:
            layer.counts = None


def batch_statistics(model):
    """Whether the model's training output depends on the whole batch at once (BatchNorm)."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def running_statistics(model):
    """Copies of what a forward pass in training changes (BatchNorm's running statistics), by state_dict
    key."""
    return {
        f"{prefix}.{name}": b.clone()
        for prefix, m in model.named_modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
        for name, b in m.named_buffers(recurse=False)
    }


@contextmanager
def holding(model, statistics):
    """The model with these running statistics (from running_statistics) in place of its own, which stay
    untouched: a training pass may need them for its gradient."""
    modules = {key: model.get_submodule(key.rpartition(".")[0]) for key in statistics}
    own = {key: m._buffers[key.rpartition(".")[2]] for key, m in modules.items()}
    for key, m in modules.items():
        m._buffers[key.rpartition(".")[2]] = statistics[key]
    try:
        yield
    finally:
        for key, m in modules.items():
            m._buffers[key.rpartition(".")[2]] = own[key]
