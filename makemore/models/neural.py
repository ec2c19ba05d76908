"""The lecture's second model: one linear layer on the one-hot context, then softmax.

Indexing W by the context id is the same as multiplying its one-hot vector by W.
"""

import torch
import torch.nn.functional as F
from torch import nn

from makemore.models.base import LanguageModel

FOLD_BELOW = 1e-3  # when `scale` has shrunk this far, it is multiplied into W, so that W never grows large


class Neural(LanguageModel):
    """The weights are `scale * W`. Gradient descent on reg * (weights**2).mean() shrinks every row by one
    factor each step; keeping that factor in `scale` lets a step touch only the rows of the contexts that
    occur in training (lazy weight decay), so its cost does not grow with V**context. It is the same
    optimization: after each step, scale * W is what plain gradient descent on the weights gives.
    """

    name = "neural"

    def __init__(self, vocab_size, context=1, reg=0.01, seed=2147483647):
        super().__init__(vocab_size, context)
        self.reg = reg
        g = torch.Generator().manual_seed(seed)
        self.W = nn.Parameter(torch.randn((self.contexts, vocab_size), generator=g))
        self.scale = 1.0  # a Python float (float64): arithmetic on it costs nothing next to a tensor op
        self.seen = None  # the training contexts where fit() saw only some; None: all of them (or not fit yet)

    def fit(self, stats):
        self.seen = stats.rows
        self._note_unseen()

    def weights(self):
        """The model's weights, scale * W."""
        return self.W * self.scale if self.scale != 1 else self.W

    def log_probs(self, rows=None):
        if rows is None:
            return self.weights().log_softmax(1)
        sparse = self.seen is not None  # a gradient on the rows seen only
        return (F.embedding(rows, self.W, sparse=sparse) * self.scale).log_softmax(1)

    def heatmap(self):
        return self.weights().detach().exp(), "{:.1f}"

    @torch.no_grad()
    def regularization(self):
        """reg * (weights**2).mean(), as a value: step() applies its gradient, as the shrink of scale."""
        if self.seen is None:
            return self.reg * (self.weights().double() ** 2).mean()
        seen = (self.W[self.seen].double() ** 2).sum()
        return self.reg * self.scale**2 * (seen + self._unseen_sq) / self.W.numel()

    @torch.no_grad()
    def step(self, lr):
        """weights <- (1 - 2 lr reg / numel) weights - lr * grad NLL, with the gradient only on the rows used."""
        shrink = 1 - 2 * lr * self.reg / self.W.numel()
        scale = self.scale * shrink
        # self.W.grad is the NLL's gradient with respect to W, which is scale times that with respect to the weights
        self.W.add_(self.W.grad, alpha=-lr / (self.scale * scale))
        self.W.grad = None
        self.scale = scale
        if self.scale < FOLD_BELOW:
            self._fold()

    @torch.no_grad()
    def _fold(self):
        """Multiply scale into W."""
        self.W.copy_(self.weights())
        self.scale = 1.0
        self._note_unseen()

    def get_extra_state(self):
        return {"scale": self.scale}  # in the state dict, so a checkpoint holds scale * W exactly

    def set_extra_state(self, state):
        self.scale = state["scale"]

    @torch.no_grad()
    def _note_unseen(self):
        """The sum of squares of the rows of W that a step never touches."""
        if self.seen is None:
            return
        unseen = torch.ones(self.contexts, dtype=torch.bool)
        unseen[self.seen] = False
        self._unseen_sq = (self.W[unseen].double() ** 2).sum()
