"""Config composition: every config group and top-level key, as Hydra composes them."""

import pytest
from hydra.utils import instantiate

from helpers import compose_config
from makemore.models import Counts, Neural


def test_defaults_train_counts_on_names_with_the_lectures_seed():
    cfg = compose_config()
    assert cfg.model._target_ == "makemore.models.Counts"
    assert cfg.data.path == "data/names.txt" and cfg.seed == 2147483647
    assert (cfg.data.val_fraction, cfg.data.test_fraction) == (0.1, 0.1)
    assert (cfg.lr, cfg.reg, cfg.steps, cfg.sample.count, cfg.context) == (50.0, 0.01, 100, 20, 1)


@pytest.mark.parametrize("name, cls", [("counts", Counts), ("neural", Neural)])
def test_every_model_in_the_group_builds_from_the_top_level_keys(name, cls):
    cfg = compose_config(f"model={name}", "model.smoothing=3", "model.reg=0.5", "seed=7", "context=2")
    model = instantiate(cfg.model, vocab_size=5)
    assert type(model) is cls and model.context == 2 and model.vocab_size == 5
    assert (model.smoothing if name == "counts" else model.reg) == (3 if name == "counts" else 0.5)


def test_a_key_the_model_does_not_use_is_still_recorded():
    cfg = compose_config("model=counts", "optimizer.lr=10", "model.reg=0.2")
    assert (cfg.lr, cfg.reg) == (10, 0.2) and "reg" not in cfg.model


@pytest.mark.parametrize("config_name", ["sample", "score"])
def test_the_checkpoint_commands_compose(config_name):
    cfg = compose_config("checkpoint=x.pt", "words=[a,b]" if config_name == "score" else "count=3",
                         config_name=config_name)
    assert cfg.checkpoint == "x.pt"
