"""The lecture's second model: one linear layer on the one-hot window, then softmax.

Multiplying the one-hot vector of a window by W is picking the window's row of W, so the model is a table
W of shape (V**context, V), indexed by the window read as a number in base V.
"""

import math
from dataclasses import dataclass

import torch
from torch import nn

from makemore.config import ModelConfig
from makemore.models.base import Windowed, place_values


@dataclass
class NeuralConfig(ModelConfig):
    _target_: str = "makemore.models.Neural"


class Neural(Windowed):
    def __init__(self, config, vocab_size):
        super().__init__(config, vocab_size)
        context = self.context
        # V**context itself would take long to compute, at context 10**9
        if context * math.log2(vocab_size) >= 63:
            raise OverflowError(f"a table of {vocab_size}**{context} rows overflows int64")
        rows = vocab_size**context
        self.W = nn.Parameter(torch.randn((rows, vocab_size)))  # the lecture's: drawn from the seeded RNG
        self.register_buffer("place", place_values(vocab_size, context), persistent=False)
        self._last = None  # (windows, their rows of W, or None where they are every row in order)

    def next_logits(self, windows):
        rows = self._rows(windows)
        return self.W if rows is None else self.W[rows]

    def _rows(self, windows):
        """The row of W that each window picks (its one-hot vector times W): None where the windows are every
        row in order, as a bigram's distinct windows are, so that the logits are W itself, with no gather to
        differentiate at every step. Kept for the last windows given, which full-batch training gives at every
        step."""
        if self._last is None or self._last[0] is not windows:
            rows = (windows * self.place).sum(1)
            every = len(rows) == len(self.W) and bool(
                (rows == torch.arange(len(rows), device=rows.device)).all()
            )
            self._last = (windows, None if every else rows)
        return self._last[1]

    def weights(self):
        return [self.W]

    def heatmap(self):
        return (self.W.detach().exp().cpu(), "{:.1f}") if self.context == 1 else None
