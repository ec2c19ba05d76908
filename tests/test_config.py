"""Config composition: every config group, and each model's own keys, as Hydra composes them."""

import pytest
import torch
from helpers import compose_config
from hydra.errors import ConfigCompositionException

from makemore import MakemoreError
from makemore.config import validate
from makemore.models import MODELS
from makemore.training import build


def test_defaults_train_counts_on_names_with_the_lectures_seed():
    cfg = compose_config()
    assert cfg.model._target_ == "makemore.models.Counts" and cfg.model.smoothing == cfg.smoothing == 1.0
    assert cfg.data.path == "data/names.txt" and cfg.seed == 2147483647
    assert (cfg.data.val_fraction, cfg.data.test_fraction) == (0.1, 0.1)
    assert (cfg.steps, cfg.sample.count, cfg.context, cfg.model.context) == (100, 20, 1, 1)
    assert cfg.optimizer._target_ == "torch.optim.SGD" and (cfg.lr, cfg.optimizer.momentum) == (50.0, 0.0)
    assert cfg.scheduler._target_ == "torch.optim.lr_scheduler.ConstantLR"


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_in_the_group_composes_validates_and_builds(name):
    cfg = compose_config(f"model={name}", "context=4")  # a power of two, as the wavenet needs
    validate(cfg)
    model = build(cfg, 7, torch.device("cpu"))
    assert type(model) is MODELS[name].cls and model.context == 4 and model.vocab_size == 7


def test_a_models_keys_live_in_its_own_config():
    cfg = compose_config("model=mlp", "model.n_embd=64")
    assert (cfg.model.n_embd, cfg.model.n_hidden, cfg.context) == (64, 200, 3)
    with pytest.raises(ConfigCompositionException):
        compose_config("model=counts", "model.n_embd=64")  # the counts model has no embedding


def test_a_model_brings_its_own_optimizer_schedule_and_steps_which_the_command_line_overrides():
    cfg = compose_config("model=mlp")
    assert cfg.optimizer._target_ == "torch.optim.AdamW" and cfg.scheduler.total_steps == cfg.steps == 300
    cfg = compose_config("model=mlp", "optimizer=sgd", "optimizer.momentum=0.9", "scheduler=step", "steps=50")
    assert (cfg.optimizer._target_, cfg.optimizer.momentum, cfg.scheduler.gamma, cfg.steps) == (
        "torch.optim.SGD",
        0.9,
        0.1,
        50,
    )


@pytest.mark.parametrize(
    "override, message",
    [
        ("smoothing=-1", "smoothing=-1.0: must be a finite number >= 0"),
        ("model.n_head=3", "model.n_embd=64: must be divisible by model.n_head=3"),
        ("model.n_layer=0", "model.n_layer=0: must be an integer >= 1"),
        ("seed=18446744073709551616", "seed=18446744073709551616: must be an integer in [0, 2**64 - 1]"),
    ],
)
def test_a_models_ranges_are_checked_by_its_schema(override, message):
    model = "transformer" if override.startswith("model.n_") else "counts"
    with pytest.raises(MakemoreError, match=message.replace("*", r"\*").replace("[", r"\[")):
        validate(compose_config(f"model={model}", override))


@pytest.mark.parametrize("config_name", ["sample", "score"])
def test_the_checkpoint_commands_compose(config_name):
    cfg = compose_config(
        "checkpoint=x.pt", "words=[a,b]" if config_name == "score" else "count=3", config_name=config_name
    )
    assert cfg.checkpoint == "x.pt"
