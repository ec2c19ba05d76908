"""The sample and score commands' schemas and ranges.

conf/sample.yaml and conf/score.yaml hold the defaults and say what every key does; this file says what each
may be, as makemore/config.py does for train.py.
"""

from dataclasses import dataclass
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, ListConfig, OmegaConf

from makemore import MakemoreError
from makemore.config import SEED


# Types only: the defaults, with what each key does, are in conf/sample.yaml and conf/score.yaml.
@dataclass
class SampleArgs:
    checkpoint: str = MISSING
    count: int = MISSING
    seed: Optional[int] = MISSING
    batched: Optional[bool] = MISSING
    temperature: Optional[float] = MISSING
    top_k: Optional[int] = MISSING
    max_length: Optional[int] = MISSING


@dataclass
class ScoreArgs:
    checkpoint: str = MISSING
    words: Any = MISSING  # one word or a list of them: no OmegaConf type says that


ConfigStore.instance().store(name="sample_schema", node=SampleArgs)
ConfigStore.instance().store(name="score_schema", node=ScoreArgs)

EXAMPLES = {  # key: how to give it, for the message when it is missing
    "checkpoint": "\"checkpoint='runs/<run>/checkpoint.pt'\"",
    "words": "words=[andrej,andrejq]",
}


def require(cfg, *keys):
    for key in keys:
        if OmegaConf.is_missing(cfg, key):
            raise MakemoreError(f"{key} is missing: give it, as in {EXAMPLES[key]}")


def validate_sample(cfg):
    """Raise MakemoreError on the first argument of the sample command that is missing or out of range."""
    require(cfg, "checkpoint")
    if cfg.count < 0:
        raise MakemoreError(f"bad config value count={cfg.count}: must be an integer >= 0")
    if cfg.seed is not None and not SEED[0] <= cfg.seed <= SEED[1]:
        raise MakemoreError(f"bad config value seed={cfg.seed}: must be null (the run's own seed) "
                            f"or an integer in [0, 2**64 - 1]")
    for key, ok, allowed in (("temperature", lambda v: 0 < v < float("inf"), "a finite number > 0"),
                             ("top_k", lambda v: v >= 1, "an integer >= 1"),
                             ("max_length", lambda v: v >= 1, "an integer >= 1")):
        if cfg[key] is not None and not ok(cfg[key]):
            raise MakemoreError(f"bad config value {key}={cfg[key]}: must be null (the run's) or {allowed}")


def validate_score(cfg):
    """The words to score, as a list of strings; MakemoreError where an argument is missing or not words."""
    require(cfg, "checkpoint", "words")
    # A single word is a string, which iterated would be its letters.
    words = list(cfg.words) if isinstance(cfg.words, ListConfig) else [cfg.words]
    for word in words:
        if not isinstance(word, str):  # Hydra reads true, null, 1e3, nan, ... as other types: not what was typed
            raise MakemoreError(f"words holds {word!r}, which Hydra reads as {type(word).__name__}, not text: "
                                f"quote such words, as in \"words=['true','nan']\"")
    return words
