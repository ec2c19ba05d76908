"""The MLP of Bengio et al. 2003 (makemore part 2), with part 3's options: embed each of the last `context`
characters in `n_embd` numbers, `n_layer` tanh layers of `n_hidden` units (each may normalize its input to the
tanh with BatchNorm), then logits."""

from dataclasses import dataclass

from torch import nn

from makemore.config import ModelConfig, check_model
from makemore.models.base import BatchNorm1d, Windowed


@dataclass
class MLPConfig(ModelConfig):
    _target_: str = "makemore.models.MLP"
    n_embd: int = 10  # numbers per character embedding (the lecture's C has 10 columns)
    n_hidden: int = 200  # tanh units in each hidden layer
    n_layer: int = 1  # hidden layers (makemore part 3's deeper net has 5)
    batchnorm: bool = False  # each hidden layer: Linear without bias, BatchNorm1d, tanh (part 3)
    kaiming: bool = False  # hidden weights drawn with Kaiming's gain for tanh, 5/3 / sqrt(fan_in) (part 3)
    last_layer_scale: float = 1.0  # the output layer's initial weights and bias times this (part 3: 0.1)

    def __post_init__(self):
        check_model(self, sizes=("n_embd", "n_hidden", "n_layer"), scales=("last_layer_scale",))


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
            layers += [linear, *([BatchNorm1d(config.n_hidden)] if config.batchnorm else []), nn.Tanh()]
            width = config.n_hidden
        self.hidden = nn.Sequential(*layers)
        self.out = nn.Linear(width, vocab_size)
        self.out.weight.data *= (
            config.last_layer_scale
        )  # a softmax less sure of itself at the start (1: exact)
        self.out.bias.data *= config.last_layer_scale

    def next_logits(self, windows):
        return self.out(self.hidden(self.C(windows).flatten(1)))
