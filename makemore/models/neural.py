"""The lecture's second model: one linear layer on the one-hot window, then softmax.

Multiplying the one-hot vector of a window by W is picking the window's row of W, so the model is a table
W of shape (V**context, V), indexed by the window read as a number in base V.
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from makemore import memory
from makemore.config import ModelConfig, check
from makemore.models.base import Windowed, place_values


@dataclass
class NeuralConfig(ModelConfig):
    _target_: str = "makemore.models.Neural"
    reg: float = 0.01  # weight of the reg * (W**2).mean() penalty in the loss

    def __post_init__(self):
        check("model.reg", self.reg, self.reg >= 0 and np.isfinite(self.reg), "a finite number >= 0")


class Neural(Windowed):
    def __init__(self, vocab_size, context=1, reg=0.01):
        super().__init__(vocab_size, context)
        self.reg = reg
        rows = vocab_size**context
        # W, its gradient and an optimizer's state or two: four tables of float32
        memory.require(4 * 4 * rows * vocab_size, f"the neural model's W of {rows:,} x {vocab_size} weights",
                       "use a shorter context")
        self.W = nn.Parameter(torch.randn((rows, vocab_size)))  # the lecture's: drawn from the seeded RNG
        self.register_buffer("place", place_values(vocab_size, context), persistent=False)

    def next_logits(self, windows):
        return self.W[(windows * self.place).sum(1)]  # the window's row: its one-hot vector times W

    def regularization(self):
        return self.reg * (self.W**2).mean()

    def heatmap(self):
        return (self.W.detach().exp().cpu(), "{:.1f}") if self.context == 1 else None
