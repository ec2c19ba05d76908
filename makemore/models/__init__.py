"""Models: each maps token ids to next-token logits through one interface (base.py).

A new model is a module here (its class and its config dataclass), an entry in MODELS, and a config file in
conf/model/; nothing else changes: training, the tests that run every model, --help, HParams, the benchmark
and the checkpoints' whitelist all read MODELS.
"""

from dataclasses import dataclass
from typing import Optional

from hydra.core.config_store import ConfigStore

from makemore.models.base import LanguageModel, Windowed
from makemore.models.bow import BoW, BoWConfig
from makemore.models.counts import Counts, CountsConfig
from makemore.models.mlp import MLP, MLPConfig
from makemore.models.neural import Neural, NeuralConfig
from makemore.models.rnn import GRU, RNN, GRUConfig, RNNConfig
from makemore.models.transformer import Transformer, TransformerConfig
from makemore.models.wavenet import WaveNet, WaveNetConfig


@dataclass(frozen=True)
class Entry:
    """A model of the registry: its class and config dataclass, and what the tests and the benchmark need of
    it."""

    cls: type
    config: type
    # overrides that make it train in a fraction of a second (the tests that run every model)
    tiny: tuple = ()
    target: Optional[float] = None  # the val NLL its reference reaches, which the benchmark times it to


SEQUENCE_TINY = ("model.n_embd=8", "model.n_embd2=8", "batch_size=16")
# name: its entry. The only classes a checkpoint may name.
MODELS = {
    "counts": Entry(Counts, CountsConfig),
    "neural": Entry(Neural, NeuralConfig),
    "mlp": Entry(MLP, MLPConfig, ("model.n_hidden=16", "batch_size=16"), target=2.11),
    "wavenet": Entry(
        WaveNet, WaveNetConfig, ("model.n_embd=4", "model.n_hidden=8", "batch_size=16"), target=1.995
    ),
    "rnn": Entry(RNN, RNNConfig, SEQUENCE_TINY),
    "gru": Entry(GRU, GRUConfig, SEQUENCE_TINY),
    "bow": Entry(BoW, BoWConfig, SEQUENCE_TINY),
    "transformer": Entry(
        Transformer,
        TransformerConfig,
        ("model.n_embd=8", "model.n_head=2", "model.n_layer=1", "batch_size=16"),
        target=2.03,
    ),
}


def register(name, entry):
    """Add a model to MODELS, and its config's keys to Hydra's schemas (conf/model/<name>.yaml takes them
    in)."""
    MODELS[name] = entry
    ConfigStore.instance().store(group="model_schema", name=name, node=entry.config, package="model")


for _name, _entry in list(MODELS.items()):
    register(_name, _entry)


def named(target):
    """The name and entry of the model a config's model._target_ names, or (None, None): no other class is
    ever built."""
    return next(
        (
            (name, e)
            for name, e in MODELS.items()
            if target in (f"makemore.models.{e.cls.__name__}", f"{e.cls.__module__}.{e.cls.__name__}")
        ),
        (None, None),
    )


__all__ = ["LanguageModel", "Windowed", "MODELS", "Entry", *(e.cls.__name__ for e in MODELS.values())]
