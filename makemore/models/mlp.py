"""The MLP of Bengio et al. 2003 (makemore part 2), with part 3's options: embed each of the last `context`
characters in `n_embd` numbers, `n_layer` tanh layers of `n_hidden` units (each may normalize its input to the
tanh with BatchNorm), then logits."""

import math
from dataclasses import dataclass
from typing import Optional

from torch import nn

from makemore.config import ModelConfig, check, check_model
from makemore.models.base import BatchNorm1d, Windowed


@dataclass
class MLPConfig(ModelConfig):
    _target_: str = "makemore.models.MLP"
    n_embd: int = 10  # numbers per character embedding (the lecture's C has 10 columns)
    n_hidden: int = 200  # tanh units in each hidden layer
    n_layer: int = 1  # hidden layers (makemore part 3's deeper net has 5)
    batchnorm: bool = False  # each hidden layer: Linear without bias, BatchNorm1d, tanh (part 3)
    # every layer's weights drawn from N(0, init_std**2), as part 3's first net does (1); null: torch's
    # default
    init_std: Optional[float] = None
    kaiming: bool = False  # hidden weights from Kaiming's gain for tanh, 5/3 / sqrt(fan_in), not init_std
    hidden_scale: float = 1.0  # the hidden layers' initial weights and biases times this (part 3's tanh: 0.2)
    last_layer_scale: float = 1.0  # the output layer's initial weights and bias times this (part 3: 0.1)

    def __post_init__(self):
        check_model(
            self, sizes=("n_embd", "n_hidden", "n_layer"), scales=("hidden_scale", "last_layer_scale")
        )
        std = self.init_std
        ok = std is None or (math.isfinite(std) and std > 0)
        check("model.init_std", std, ok, "a finite number > 0, or null (torch's default)")


def initialized(linear, std, scale):
    """A layer's weights drawn from N(0, std**2) (None: as they are), then its weights and bias times
    scale."""
    if std is not None:
        nn.init.normal_(linear.weight, std=std)
    linear.weight.data *= scale
    if linear.bias is not None:
        linear.bias.data *= scale


class MLP(Windowed):
    def __init__(self, config, vocab_size):
        super().__init__(config, vocab_size)
        self.C = nn.Embedding(vocab_size, config.n_embd)
        layers, width = [], config.context * config.n_embd
        for _ in range(config.n_layer):
            # BatchNorm's beta is the bias
            linear = nn.Linear(width, config.n_hidden, bias=not config.batchnorm)
            if config.kaiming:
                nn.init.kaiming_normal_(linear.weight, nonlinearity="tanh")
            initialized(linear, None if config.kaiming else config.init_std, config.hidden_scale)
            layers += [linear, *([BatchNorm1d(config.n_hidden)] if config.batchnorm else []), nn.Tanh()]
            width = config.n_hidden
        self.hidden = nn.Sequential(*layers)
        self.out = nn.Linear(width, vocab_size)
        # a softmax less sure of itself at the start (1: exact)
        initialized(self.out, config.init_std, config.last_layer_scale)

    def next_logits(self, windows):
        return self.out(self.hidden(self.C(windows).flatten(1)))
