"""A GPT-2 style Transformer: attention learns which earlier positions to read, where BoW averages them
all."""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from makemore.config import ModelConfig, check, check_model
from makemore.models.base import LanguageModel

MAX_LAYERS = 1000


@dataclass
class TransformerConfig(ModelConfig):
    _target_: str = "makemore.models.Transformer"
    n_embd: int = 64  # width of the residual stream
    n_layer: int = 4  # blocks of attention and MLP
    n_head: int = 4  # attention heads per block; must divide n_embd

    def __post_init__(self):
        check_model(self, sizes=("n_embd", "n_layer", "n_head"))
        # Blocks are built one by one in Python: 100,000 of them would keep a run busy long before any check.
        check(
            "model.n_layer",
            self.n_layer,
            self.n_layer <= MAX_LAYERS,
            f"<= {MAX_LAYERS}: a deeper stack takes minutes just to build",
        )
        check(
            "model.n_embd",
            self.n_embd,
            self.n_embd % self.n_head == 0,
            f"divisible by model.n_head={self.n_head}, to split into heads",
        )


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        self.n_head = n_head
        self.qkv = nn.Linear(n_embd, 3 * n_embd)  # one matmul for all heads' queries, keys and values
        self.proj = nn.Linear(n_embd, n_embd)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = (
            a.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for a in self.qkv(x).split(C, 2)
        )
        # One fused kernel for scores, mask, softmax and weighted sum: on CPU, at makemore's sizes, the whole
        # forward takes half the time of the explicit form (which the tests check it equals).
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


class Block(nn.Module):
    """Pre-norm: the residual stream itself is never normalized, so every layer can pass it on unchanged."""

    def __init__(self, n_embd, n_head):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head)
        self.ln_2 = nn.LayerNorm(n_embd)
        # GPT-2's tanh approximation of GELU, so the numbers are the ones makemore.py gives
        self.mlp = nn.Sequential(
            nn.Linear(n_embd, 4 * n_embd), nn.GELU(approximate="tanh"), nn.Linear(4 * n_embd, n_embd)
        )

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(LanguageModel):
    def __init__(self, config, vocab_size):
        super().__init__(config, vocab_size)
        n_embd = config.n_embd
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(self.context, n_embd)
        self.blocks = nn.ModuleList(Block(n_embd, config.n_head) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)

    def forward(self, idx):
        T = idx.shape[1]
        if T > self.context:
            raise ValueError(f"a sequence of {T} tokens is longer than context={self.context}")
        x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))
        for block in self.blocks:
            x = block(x)
        return self.lm_head(self.ln_f(x))
