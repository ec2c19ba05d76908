"""The interface every model shares, and the sufficient statistics it is trained and scored on."""

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class Stats:
    """The (context, next token) counts of one split, kept only for the contexts that occur."""

    rows: torch.Tensor  # context ids that occur, int64; None where every context occurs (the whole table)
    N: torch.Tensor  # their counts, (len(rows), V) int64
    total: int  # number of examples

    @classmethod
    def of(cls, N):
        rows = (N.sum(1) > 0).nonzero()[:, 0]
        return cls(None, N, int(N.sum())) if len(rows) == len(N) else cls(rows, N[rows], int(N.sum()))


class LanguageModel(nn.Module):
    """P(next token | previous `context` tokens), as a table over context ids (see data.examples)."""

    name = None

    def __init__(self, vocab_size, context=1):
        super().__init__()
        self.vocab_size = vocab_size
        self.context = context

    @property
    def contexts(self):
        return self.vocab_size**self.context

    def fit(self, stats):
        """The closed-form part of training, from the training counts (all of it for a count table)."""

    def log_probs(self, rows=None):
        """log P(next | context) for the contexts `rows` (all when None), shape (len(rows), V)."""
        raise NotImplementedError

    def probs(self):
        """P for sampling, float32, each row summing to 1."""
        return self.log_probs().exp().float()

    def heatmap(self):
        """(table, format of a cell) for the lecture's picture of the model."""
        raise NotImplementedError

    def regularization(self):
        return torch.zeros((), dtype=torch.float64)

    def nll(self, stats):
        """Average negative log-likelihood of the counted examples: float64, inf where P is 0."""
        logp = self.log_probs(stats.rows).double()
        return -torch.where(stats.N > 0, stats.N * logp, 0.0).sum() / stats.total

    def nll_examples(self, ctx, y):
        """Average negative log-likelihood of single examples: the per-example path of minibatch training."""
        return -self.log_probs(ctx)[torch.arange(len(y)), y].double().mean()

    @torch.no_grad()
    def step(self, lr):
        """One gradient descent update from the gradients of the last backward()."""
        for p in self.parameters():
            p -= lr * p.grad
            p.grad = None

    def objective(self, stats):
        """What full-batch training minimizes: NLL plus regularization."""
        return self.nll(stats) + self.regularization()
