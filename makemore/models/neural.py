"""The lecture's second model: one linear layer on the one-hot context, then softmax.

Indexing W by the context id is the same as multiplying its one-hot vector by W.
"""

import torch
from torch import nn

from makemore.models.base import LanguageModel


class Neural(LanguageModel):
    name = "neural"

    def __init__(self, vocab_size, context=1, reg=0.01, seed=2147483647):
        super().__init__(vocab_size, context)
        self.reg = reg
        g = torch.Generator().manual_seed(seed)
        self.W = nn.Parameter(torch.randn((self.contexts, vocab_size), generator=g))

    def log_probs(self, rows=None):
        W = self.W if rows is None else self.W[rows]
        return W.log_softmax(1)

    def heatmap(self):
        return self.W.detach().exp(), "{:.1f}"

    def regularization(self):
        return self.reg * (self.W**2).mean()
