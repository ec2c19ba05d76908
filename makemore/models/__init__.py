"""Models: each maps token ids to next-token logits through one interface (base.py).

A new model is a module here (its class and its config dataclass), a line in MODELS, and a config file in
conf/model/; nothing else changes.
"""

from hydra.core.config_store import ConfigStore

from makemore.models.base import LanguageModel, Windowed
from makemore.models.bow import BoW, BoWConfig
from makemore.models.counts import Counts, CountsConfig
from makemore.models.mlp import MLP, MLPConfig
from makemore.models.neural import Neural, NeuralConfig
from makemore.models.rnn import GRU, RNN, GRUConfig, RNNConfig
from makemore.models.transformer import Transformer, TransformerConfig

# name: (class, config). The only classes a checkpoint may name.
MODELS = {
    "counts": (Counts, CountsConfig),
    "neural": (Neural, NeuralConfig),
    "mlp": (MLP, MLPConfig),
    "rnn": (RNN, RNNConfig),
    "gru": (GRU, GRUConfig),
    "bow": (BoW, BoWConfig),
    "transformer": (Transformer, TransformerConfig),
}
for _name, (_, _config) in MODELS.items():
    ConfigStore.instance().store(group="model_schema", name=_name, node=_config, package="model")


def named(target):
    """The (class, config) of MODELS that a model._target_ names, or None: no other class is ever built."""
    return next(((cls, config) for cls, config in MODELS.values()
                 if target in (f"makemore.models.{cls.__name__}", f"{cls.__module__}.{cls.__name__}")), None)


def name_of(model):
    """The name under which MODELS holds the model's class."""
    return next(name for name, (cls, _) in MODELS.items() if type(model) is cls)


__all__ = ["LanguageModel", "Windowed", "MODELS", *(cls.__name__ for cls, _ in MODELS.values())]
