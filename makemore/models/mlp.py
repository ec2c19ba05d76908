"""The MLP of Bengio et al. 2003 (makemore part 2): embed each of the last `context` characters in
`n_embd` numbers, a tanh hidden layer of `n_hidden` units on their concatenation, then logits."""

from dataclasses import dataclass

import torch
from torch import nn

from makemore.config import ModelConfig, check
from makemore.models.base import Windowed


@dataclass
class MLPConfig(ModelConfig):
    _target_: str = "makemore.models.MLP"
    n_embd: int = 10  # numbers per character embedding (the lecture's C has 10 columns)
    n_hidden: int = 200  # tanh units in the hidden layer

    def __post_init__(self):
        check("model.n_embd", self.n_embd, self.n_embd >= 1, "an integer >= 1")
        check("model.n_hidden", self.n_hidden, self.n_hidden >= 1, "an integer >= 1")


class MLP(Windowed):
    def __init__(self, config, vocab_size):
        super().__init__(config, vocab_size)
        self.C = nn.Embedding(vocab_size, config.n_embd)
        self.hidden = nn.Linear(config.context * config.n_embd, config.n_hidden)
        self.out = nn.Linear(config.n_hidden, vocab_size)

    def next_logits(self, windows):
        return self.out(torch.tanh(self.hidden(self.C(windows).flatten(1))))
