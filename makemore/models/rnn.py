"""Recurrent language models: one hidden state carried left to right, so the context has no fixed length.

The vanilla cell is Mikolov et al. 2010's; the GRU is Cho et al. 2014's, whose gates let the state
pass through a step unchanged, which keeps gradients alive over long sequences. The sequence model is
the same for both: only the cell differs.
"""

from dataclasses import dataclass

import torch
from torch import nn

from makemore.config import ModelConfig, check_model
from makemore.models.base import LanguageModel


@dataclass
class RNNConfig(ModelConfig):
    _target_: str = "makemore.models.RNN"
    n_embd: int = 64  # numbers per token embedding
    n_embd2: int = 64  # size of the hidden state

    def __post_init__(self):
        check_model(self, sizes=("n_embd", "n_embd2"))


@dataclass
class GRUConfig(RNNConfig):
    _target_: str = "makemore.models.GRU"


class RNNCell(nn.Module):
    def __init__(self, n_embd, n_embd2):
        super().__init__()
        self.xh_to_h = nn.Linear(n_embd + n_embd2, n_embd2)

    def forward(self, x, h):
        return torch.tanh(self.xh_to_h(torch.cat([x, h], 1)))


class GRUCell(nn.Module):
    def __init__(self, n_embd, n_embd2):
        super().__init__()
        self.update = nn.Linear(n_embd + n_embd2, n_embd2)
        self.reset = nn.Linear(n_embd + n_embd2, n_embd2)
        self.candidate = nn.Linear(n_embd + n_embd2, n_embd2)

    def forward(self, x, h):
        xh = torch.cat([x, h], 1)
        z = torch.sigmoid(self.update(xh))
        r = torch.sigmoid(self.reset(xh))
        # The reset gate chooses which channels of h the candidate may read, so a new word can start afresh.
        hbar = torch.tanh(self.candidate(torch.cat([x, r * h], 1)))
        return (1 - z) * h + z * hbar


class RNN(LanguageModel):
    """`context` is only recorded: the recurrence reads sequences of any length."""

    cell_type = RNNCell

    def __init__(self, config, vocab_size):
        super().__init__(config, vocab_size)
        # Learned rather than zero: the state before the start token is whatever predicts best.
        self.start = nn.Parameter(torch.zeros(1, config.n_embd2))
        self.wte = nn.Embedding(vocab_size, config.n_embd)
        self.cell = self.cell_type(config.n_embd, config.n_embd2)
        self.lm_head = nn.Linear(config.n_embd2, vocab_size)

    def forward(self, idx):
        x = self.wte(idx)  # every step's input at once; only the recurrence itself is sequential
        h = self.start.expand(len(idx), -1)
        hs = []
        # one view a step, whose gradients are stacked once (x[:, t]'s were each made whole)
        for xt in x.unbind(1):
            h = self.cell(xt, h)
            hs.append(h)
        return self.lm_head(torch.stack(hs, 1))


class GRU(RNN):
    cell_type = GRUCell
