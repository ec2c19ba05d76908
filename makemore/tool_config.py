"""The sample and score commands' schemas and ranges, and one-line errors for a config Hydra cannot compose.

conf/sample.yaml and conf/score.yaml hold the defaults and say what every key does; this file says what each
may be, as makemore/config.py does for train.py.
"""

import os
import sys
from dataclasses import dataclass
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from hydra.errors import CompactHydraException, MissingConfigException, OverrideParseException
from omegaconf import MISSING, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from makemore import MakemoreError

SEEDS = 2**64  # torch seeds a generator with an integer in [0, 2**64 - 1]


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
    if cfg.seed is not None and not 0 <= cfg.seed < SEEDS:
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


def report_config_errors(main):
    """Call a @hydra.main function so that a config Hydra cannot compose (a value of the wrong type, an unknown
    key or option, an override it cannot parse) ends the command with one line `error: ...`, exit status 1.

    Hydra prints these errors itself, in several lines, and exits, unless HYDRA_FULL_ERROR=1: its documented
    switch under which it raises them instead. So it is set here, and what Hydra raises of its compact kind
    (the errors it would print as a message, MakemoreError among them) is printed as one line; any other
    exception, a bug, goes on as a traceback. A user who set HYDRA_FULL_ERROR=1 gets Hydra's full error.
    """
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        return main()
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        return main()
    except CompactHydraException as e:
        print(f"error: {one_line(e)}", file=sys.stderr)
        sys.exit(getattr(e, "exit_code", 1))
    finally:
        os.environ.pop("HYDRA_FULL_ERROR", None)


def one_line(error):
    """A Hydra error's message, as one line."""
    if isinstance(error, OverrideParseException):
        return unparsable(error.override)
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if isinstance(error, MissingConfigException):  # the rest is Hydra's search path
        return lines[0] + (f" (the options: {', '.join(error.options)})" if error.options else "")
    if isinstance(error.__cause__, OmegaConfBaseException):  # the first line says what; the rest is where
        lines.append(str(error.__cause__).strip().splitlines()[0])
    message = "; ".join(line.rstrip(".") for line in lines)
    return message.replace("Error merging override ", "bad override ", 1)


def unparsable(override):
    """Hydra's grammar reads a value unquoted only if it is made of ASCII letters, digits and a few signs:
    say so, with the override quoted the way that works from a shell."""
    message = f"Hydra cannot parse the override {override!r}"
    key, _, value = override.partition("=")
    if not value or any(q in value for q in "'\""):  # already quoted: quoting is not what is wrong
        return message
    if value.startswith("[") and value.endswith("]"):
        quoted = "[" + ",".join(f"'{v.strip()}'" for v in value[1:-1].split(",")) + "]"
    else:
        quoted = f"'{value}'"
    return (f"{message}: a value with characters other than ASCII letters, digits and _-+./\\$%*@?| "
            f"must be quoted for Hydra, as in \"{key}={quoted}\"")
