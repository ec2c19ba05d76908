"""A causal bag of words: each position sees the plain average of the positions up to it.

It is attention with every weight equal, so it shows what the learned weights of a Transformer add.
"""

from dataclasses import dataclass

import torch
from torch import nn

from makemore.config import ModelConfig, check_model
from makemore.models.base import LanguageModel


@dataclass
class BoWConfig(ModelConfig):
    _target_: str = "makemore.models.BoW"
    n_embd: int = 64  # numbers per token (and position) embedding
    n_embd2: int = 64  # hidden units of the MLP after the averaging

    def __post_init__(self):
        check_model(self, sizes=("n_embd", "n_embd2"))


class CausalBoW(nn.Module):
    def __init__(self, context):
        super().__init__()
        mask = torch.tril(torch.ones(context, context))
        # Rows of the mask divided by their counts: one matmul then averages over positions <= t.
        self.register_buffer("avg", mask / mask.sum(1, keepdim=True), persistent=False)

    def forward(self, x):
        T = x.shape[1]
        return self.avg[:T, :T] @ x


class BoW(LanguageModel):
    def __init__(self, config, vocab_size):
        super().__init__(config, vocab_size)
        n_embd, n_embd2 = config.n_embd, config.n_embd2
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(self.context, n_embd)  # without positions, an average forgets the order
        self.cbow = CausalBoW(self.context)
        self.mlp = nn.Sequential(nn.Linear(n_embd, n_embd2), nn.Tanh(), nn.Linear(n_embd2, n_embd))
        self.lm_head = nn.Linear(n_embd, vocab_size)

    def forward(self, idx):
        T = idx.shape[1]
        if T > self.context:
            raise ValueError(f"a sequence of {T} tokens is longer than context={self.context}")
        x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))
        x = x + self.cbow(x)
        x = x + self.mlp(x)
        return self.lm_head(x)
