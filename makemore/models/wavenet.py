"""The hierarchical model of makemore part 5 (after WaveNet, van den Oord et al. 2016): rather than crush the
whole window into one layer at once, embed each of the last `context` characters, then fuse two neighbours at
a time in a tree, halving the positions at each stage (8 -> 4 -> 2 -> 1), so that the information enters
slowly."""

from dataclasses import dataclass

from torch import nn

from makemore.config import ModelConfig, check, check_model
from makemore.models.base import BatchNorm1d, Windowed


@dataclass
class WaveNetConfig(ModelConfig):
    _target_: str = "makemore.models.WaveNet"
    n_embd: int = 24  # numbers per character embedding
    n_hidden: int = 128  # units of each stage
    last_layer_scale: float = 0.1  # the output layer's initial weights and bias times this: unsure at first

    def __post_init__(self):
        check_model(self, sizes=("n_embd", "n_hidden"), scales=("last_layer_scale",))
        if isinstance(self.context, str):  # "${context}": the schema itself, before a run gives the context
            return
        # the tree halves the positions at each stage, down to one
        low = (
            1 << (self.context.bit_length() - 1) if isinstance(self.context, int) and self.context >= 1 else 0
        )
        check(
            "context",
            self.context,
            self.context == low,
            f"a power of two ({low} or {2 * low})" if low else "a power of two",
        )


class Pairs(nn.Module):
    """(B, T, C) -> (B, T/2, 2C): each two consecutive positions side by side, as one."""

    def forward(self, x):
        return x.reshape(x.shape[0], x.shape[1] // 2, 2 * x.shape[2])


class WaveNet(Windowed):
    def __init__(self, config, vocab_size):
        super().__init__(config, vocab_size)
        self.C = nn.Embedding(vocab_size, config.n_embd)
        layers, width = [], config.n_embd
        for _ in range(config.context.bit_length() - 1):  # log2(context) stages
            # BatchNorm's beta is the bias; it normalizes over the batch and the positions alike
            layers += [
                Pairs(),
                nn.Linear(2 * width, config.n_hidden, bias=False),
                BatchNorm1d(config.n_hidden),
                nn.Tanh(),
            ]
            width = config.n_hidden
        self.stages = nn.Sequential(*layers)
        self.out = nn.Linear(width, vocab_size)
        self.out.weight.data *= config.last_layer_scale
        self.out.bias.data *= config.last_layer_scale

    def next_logits(self, windows):
        return self.out(self.stages(self.C(windows)).squeeze(1))  # (N, 1, width) after the last stage
