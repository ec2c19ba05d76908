"""The config's schema: types that Hydra checks when it composes, and the ranges that types cannot say.

conf/config.yaml holds the defaults and says what every key does; this file says what each may be.
"""

import math
from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from makemore import MakemoreError


# Types only: the defaults, with what each key does, are in conf/config.yaml.
@dataclass
class DataConfig:
    path: str = MISSING
    val_fraction: float = MISSING
    test_fraction: float = MISSING
    split_seed: int = MISSING


@dataclass
class SampleConfig:
    count: int = MISSING
    batched: Optional[bool] = MISSING


@dataclass
class Config:
    model: Any = MISSING
    context: int = MISSING
    smoothing: float = MISSING
    reg: float = MISSING
    lr: float = MISSING
    seed: int = MISSING
    steps: int = MISSING
    batch_size: Optional[int] = MISSING
    eval_interval: int = MISSING
    threads: int = MISSING
    figures: bool = MISSING
    resume: Optional[str] = MISSING
    data: DataConfig = field(default_factory=DataConfig)
    sample: SampleConfig = field(default_factory=SampleConfig)


ConfigStore.instance().store(name="config_schema", node=Config)
# Run folders are named <time>_<overrides>, or just <time> when there are none.
OmegaConf.register_new_resolver("suffix", lambda overrides: f"_{overrides}" if overrides else "", replace=True)

RANGES = {  # key: (allowed, what the user is told)
    "context": (lambda v: v >= 1, "an integer >= 1"),
    "smoothing": (lambda v: v >= 0 and math.isfinite(v), "a finite number >= 0"),
    "reg": (lambda v: v >= 0 and math.isfinite(v), "a finite number >= 0"),
    "lr": (lambda v: v > 0 and math.isfinite(v), "a finite number > 0"),
    "steps": (lambda v: v >= 0, "an integer >= 0"),
    "batch_size": (lambda v: v is None or v >= 1, "null (full batch) or an integer >= 1"),
    "eval_interval": (lambda v: v >= 1, "an integer >= 1"),
    "threads": (lambda v: v >= 1, "an integer >= 1"),
    "data.val_fraction": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "data.test_fraction": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "sample.count": (lambda v: v >= 0, "an integer >= 0"),
}


def validate(cfg):
    """Raise MakemoreError naming the first key whose value is out of range."""
    for key, (ok, allowed) in RANGES.items():
        value = cfg
        for part in key.split("."):
            value = value[part]
        if not ok(value):
            raise MakemoreError(f"bad config value {key}={value}: must be {allowed}")
    fractions = cfg.data.val_fraction + cfg.data.test_fraction
    if fractions >= 1:
        raise MakemoreError(
            f"bad config value data.val_fraction + data.test_fraction = {fractions:g}: must be < 1"
        )
