"""The config's schema: types that Hydra checks when it composes, the ranges that types cannot say, and the
resolvers its files call.

conf/config.yaml holds the run's defaults and says what every key does, conf/sample.yaml and conf/score.yaml
the checkpoint commands'; each model's keys, their defaults and ranges live beside the model
(makemore/models/*.py) and are stored under `model_schema/<name>` by the registry
(makemore/models/__init__.py).
"""

import functools
import hashlib
import math
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import II, MISSING, ListConfig, OmegaConf

from makemore import MakemoreError
from makemore.terminal import first_line

SEED = (0, 2**64 - 1)  # what torch.manual_seed accepts
MAX_SMOOTHING = 1e300  # times any vocabulary (at most 1,114,112 characters), still a finite float64
MAX_REG = 1e38  # just below float32's largest, 3.4e38
CONF = Path(__file__).resolve().parents[1] / "conf"


def check(key, value, ok, allowed):
    if not ok:
        raise MakemoreError(f"bad config value {key}={value}: must be {allowed}")


def check_model(config, sizes=(), scales=()):
    """A model's size keys integers >= 1, and its scales numbers in [0, 1] (a scale above 1 only
    saturates)."""
    for key in sizes:
        check(f"model.{key}", getattr(config, key), getattr(config, key) >= 1, "an integer >= 1")
    for key in scales:
        check(f"model.{key}", getattr(config, key), 0 <= getattr(config, key) <= 1, "a number in [0, 1]")


def interpolated(default):
    """The top-level key a config's default takes by interpolation (`${lr}`: lr), or None."""
    return default[2:-1] if isinstance(default, str) and default.startswith("${") else None


@dataclass
class ModelConfig:
    """What every model has: the class to build, and how many previous tokens it sees."""

    _target_: str = MISSING
    context: Optional[int] = II("context")


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
    temperature: float = MISSING
    top_k: Optional[int] = MISSING
    max_length: Optional[int] = MISSING


@dataclass
class Config:
    model: Any = MISSING
    optimizer: Any = MISSING
    scheduler: Any = MISSING
    context: Optional[int] = MISSING
    smoothing: float = MISSING
    reg: float = MISSING
    lr: float = MISSING
    seed: int = MISSING
    steps: int = MISSING
    batch_size: Optional[int] = MISSING
    batch_pieces: int = MISSING
    eval_interval: int = MISSING
    eval_words: Optional[int] = MISSING
    checkpoint_seconds: float = MISSING
    threads: int = MISSING
    device: str = MISSING
    figures: bool = MISSING
    diagnostics: bool = MISSING
    resume: Optional[str] = MISSING
    optimized_metric: str = MISSING
    data: DataConfig = field(default_factory=DataConfig)
    sample: SampleConfig = field(default_factory=SampleConfig)


ConfigStore.instance().store(name="config_schema", node=Config)


def sweeping(config=None):
    """Whether this process runs a job of a sweep (whose sweeper may optimize what it returns): by Hydra's
    config, as a callback is given it, or else as Hydra holds it."""
    if config is not None:
        return config.hydra.mode == RunMode.MULTIRUN
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def flat(node, prefix=""):
    """A nested dict as {"a.b": value}."""
    out = {}
    for key, value in node.items():
        out |= flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value}
    return out


finite = math.isfinite
NULLS = {  # a key that may be null: what null means
    "context": "the longest word + 1",
    "batch_size": "full batch",
    "sample.top_k": "every token",
    "sample.max_length": "a little past the longest word",
    "eval_words": "every word",
    "resume": "a new run",
}
RANGES = {  # key: (allowed, what the user is told), of a value other than null
    "context": (lambda v: v >= 1, "an integer >= 1"),
    "seed": (
        lambda v: SEED[0] <= v <= SEED[1],
        "an integer in [0, 2**64 - 1], what torch can seed a generator with",
    ),
    "steps": (lambda v: v >= 0, "an integer >= 0"),
    "batch_size": (lambda v: v >= 1, "an integer >= 1"),
    "batch_pieces": (lambda v: v >= 1, "an integer >= 1"),
    "eval_interval": (lambda v: v >= 1, "an integer >= 1"),
    "eval_words": (lambda v: v >= 1, "an integer >= 1"),
    "checkpoint_seconds": (lambda v: v >= 0 and finite(v), "a finite number of seconds >= 0"),
    "threads": (lambda v: 1 <= v <= 1024, "an integer in [1, 1024]: torch starts that many threads"),
    "device": (
        lambda v: v in ("auto", "cpu", "cuda", "mps") or v.startswith("cuda:"),
        "auto, cpu, cuda or mps",
    ),
    "optimized_metric": (
        lambda v: v in ("train/nll", "val/nll", "test/nll"),
        "train/nll, val/nll or test/nll",
    ),
    "resume": (lambda v: v.strip() != "", "the checkpoint.pt or run folder to continue"),
    "data.val_fraction": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "data.test_fraction": (lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "data.split_seed": (
        lambda v: SEED[0] <= v <= SEED[1],
        "an integer in [0, 2**64 - 1], what torch can seed a generator with",
    ),
    "sample.count": (lambda v: v >= 0, "an integer >= 0"),
    "sample.temperature": (lambda v: v > 0 and finite(v), "a finite number > 0"),
    "sample.top_k": (lambda v: v >= 1, "an integer >= 1"),
    "sample.max_length": (lambda v: v >= 1, "an integer >= 1"),
    # Above that, V * smoothing (a row's sum) overflows float64 for some vocabulary, and P becomes nan.
    "smoothing": (
        lambda v: 0 <= v <= MAX_SMOOTHING,
        f"a finite number >= 0 and <= {MAX_SMOOTHING:g}, so that a row's sum, V * smoothing, stays finite",
    ),
    # The penalty is a float32, and weights start near 1: a larger reg makes the loss inf before any step.
    "reg": (
        lambda v: 0 <= v <= MAX_REG,
        f"a finite number >= 0 and <= {MAX_REG:g}, so that the float32 penalty reg * mean(W**2) is finite",
    ),
    "lr": (lambda v: v > 0 and finite(v), "a finite number > 0"),
}


def in_range(key, value, null=None, name=None):
    """Raise MakemoreError unless the value is in the key's range, or null where `null` says what null
    means."""
    ok, allowed = RANGES[key]
    if value is None and null is not None:
        return
    try:
        fine = value is not None and ok(value)
    except TypeError:  # a value of another type than the range's
        fine = False
    check(name or key, value, fine, f"null ({null}) or {allowed}" if null is not None else allowed)


def _whole(v):
    """An integer, as yaml may write it too (1e5 is a float)."""
    return float(v).is_integer()


POSITIVE = (lambda v: v > 0 and finite(v), "a finite number > 0")
# The keys of each schedule conf/scheduler/*.yaml names, by its _target_: their ranges, and the lrs where the
# schedule turns (from lr, its keys and steps), its least and its largest among them. Each must be finite and
# > 0 at every step, or the run overflows (gamma=1e100, a few milestones on), stands still (0) or climbs the
# loss (< 0).
SCHEDULES = {
    "makemore.schedules.OneCycleLR": (
        {
            "pct_start": (lambda v: 0 <= v < 1, "a number in [0, 1): the decay needs steps of its own"),
            "div_factor": POSITIVE,
            "final_div_factor": POSITIVE,
            "anneal_strategy": (lambda v: v in ("cos", "linear"), "cos or linear"),
        },
        lambda lr, s, steps: [lr / s["div_factor"], lr / s["div_factor"] / s["final_div_factor"]],
    ),
    "torch.optim.lr_scheduler.MultiStepLR": (
        {
            "milestones": (lambda v: all(_whole(m) and m >= 0 for m in v), "a list of integers >= 0 (steps)"),
            "gamma": (lambda v: 0 < v <= 1, "a number in (0, 1]: a decay"),
        },
        lambda lr, s, steps: [math.prod([lr] + [s["gamma"]] * sum(m < steps for m in s["milestones"]))],
    ),
    "torch.optim.lr_scheduler.ConstantLR": (
        {
            "factor": (lambda v: 0 < v <= 1, "a number in (0, 1]"),
            "total_iters": (lambda v: _whole(v) and v >= 0, "an integer >= 0 (steps)"),
        },
        lambda lr, s, steps: [lr * s["factor"]],
    ),
}


def validate(cfg):
    """Raise MakemoreError naming the first key whose value is out of range: the run's keys, then the model's
    (its schema's __post_init__ checks them)."""
    for key in RANGES:
        in_range(key, OmegaConf.select(cfg, key), NULLS.get(key))
    fractions = cfg.data.val_fraction + cfg.data.test_fraction
    check("data.val_fraction + data.test_fraction", f"{fractions:g}", fractions < 1, "< 1")
    OmegaConf.to_object(cfg.model)


_passed = set()  # the optimizer and scheduler settings check_optimizer has passed in this process


def check_optimizer(cfg):
    """Refuse an optimizer or schedule that torch would refuse once training starts. Their nodes are untyped
    yaml (any torch.optim class, with its own keys), so each value is compared with the kind of value its
    option's file gives it, and then the two are built on a stand-in weight and take a first step, as training
    would. Settings that passed once in this process (the jobs of a sweep over other keys) are not checked
    again."""
    # here, not above: the sample and score commands check their arguments with SEED, before torch
    import torch

    groups = ("optimizer", "scheduler")
    given = {group: OmegaConf.to_container(cfg[group]) for group in groups}
    settings = {group: OmegaConf.to_container(cfg[group], resolve=True) for group in groups}
    # as given too: a key given as the value its interpolation has (scheduler.total_steps=5, steps=5) is
    # refused
    key = repr((cfg.lr, cfg.steps, settings, given))
    if key in _passed:
        return
    for group, values in settings.items():
        _check_kinds(group, given[group], values)
    _check_schedule(cfg.lr, settings["scheduler"], cfg.steps)
    weight = torch.nn.Parameter(torch.ones(1))
    with _failing(cfg, "optimizer", "bad optimizer config"):
        optimizer = instantiate(cfg.optimizer)([weight], lr=cfg.lr)
    with _failing(cfg, "scheduler", "bad scheduler config"):
        scheduler = instantiate(cfg.scheduler)(optimizer)
    weight.grad = torch.ones(1)
    lr = optimizer.param_groups[0]["lr"]  # what the schedule starts from
    with _failing(cfg, "optimizer", f"bad optimizer config: a first step at lr={lr:g} fails"):
        optimizer.step()
    with _failing(cfg, "scheduler", "bad scheduler config: its first step fails"):
        scheduler.step()
    _passed.add(key)


def _kind(value):
    """What a yaml default says a key holds: a number, true or false, or a list of numbers (else:
    anything)."""
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list) and value and all(_kind(v) == "a number" for v in value):
        return "a list of numbers"
    return None


def option_keys(group, option):
    """The keys of a group's option file (conf/optimizer/sgd.yaml): an optimizer's file also sets the
    top-level lr, and its own keys are under `optimizer`. Interpolations stay text: a key holding one may hold
    any kind."""
    keys = OmegaConf.to_container(OmegaConf.load(option))
    return keys.get(group, keys)


def _check_kinds(group, raw, node):
    """Each key of the node (`raw`: as written; `node`: resolved) holds the kind of value its option's file
    gives it; a key that file sets from a top-level key (scheduler.max_lr: ${lr}) is set there, and so is the
    optimizer's lr."""
    check(
        f"{group}.lr",
        node.get("lr"),
        group != "optimizer" or "lr" not in node,
        f"absent: the optimizer takes the run's lr, so give lr={node.get('lr')}",
    )
    for option in sorted((CONF / group).glob("*.yaml")):
        defaults = option_keys(group, option)
        if defaults.get("_target_") == node.get("_target_"):
            for key, value in node.items():
                default = defaults.get(key)
                top = interpolated(default)
                if top:
                    check(
                        f"{group}.{key}",
                        value,
                        raw[key] == default,
                        f"the run's {top} ({default}), so give {top}={value}",
                    )
                kind = _kind(default)
                check(
                    f"{group}.{key}",
                    value,
                    kind is None or _kind(value) == kind,
                    f"{kind}, as in conf/{group}/{option.name}",
                )


def _check_schedule(lr, keys, steps):
    """A schedule named in SCHEDULES: each key in its range, and the lr finite and > 0 over the run's
    steps."""
    ranges, turns = SCHEDULES.get(keys.get("_target_"), ({}, None))
    for key, (ok, allowed) in ranges.items():
        if key in keys:
            check(f"scheduler.{key}", keys[key], ok(keys[key]), allowed)
    # else torch's defaults
    for value in turns(lr, keys, steps) if turns and ranges.keys() <= keys.keys() else ():
        if not (value > 0 and finite(value)):
            given = ", ".join(f"scheduler.{k}={keys[k]}" for k in ranges if not isinstance(keys[k], str))
            raise MakemoreError(
                f"bad scheduler config: the lr would reach {value:g} within steps={steps} "
                f"(lr={lr:g}, {given}); it must stay finite and > 0: change lr or those keys"
            )


@contextmanager
def _failing(cfg, group, what):
    """Torch's error, as one line; with the group's keys where the message does not name one of them."""
    try:
        yield
    except Exception as e:  # any torch.optim class may raise anything for a value it cannot use
        reason = first_line(e)
        keys = {
            f"{group}.{k}": v
            for k, v in OmegaConf.to_container(cfg[group], resolve=True).items()
            if not k.startswith("_")
        }
        keys = {"lr": cfg.lr, **keys} if group == "optimizer" else keys
        if not any(k.split(".")[-1] in reason for k in keys):
            reason += " (" + ", ".join(f"{k}={v}" for k, v in keys.items()) + ")"
        raise MakemoreError(f"{what}: {reason}") from None


# --- what the config's files call --------------------------------------------------------------------------

NAME_BYTES = 200  # the overrides part of a folder's name: with the time or job number, within 255 bytes


@functools.cache
def default_data():
    """The data file config.yaml names: read when an override names one, not at the import of every
    command."""
    return Path(OmegaConf.load(CONF / "config.yaml").data.path)


def overrides_name(overrides, exclude):
    """The overrides part of a run folder's name: Hydra's override_dirname, but a valid folder name whatever
    the overrides are. A data file is named by its file name (unless it is the default file), a '/' in a value
    becomes '-', and a name longer than NAME_BYTES is cut and ends in a hash of the whole."""
    items = []
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        key = override.key_or_group
        if key in exclude:
            continue
        if key == "data.path":
            path = Path(str(override.value()))
            if path.resolve() == default_data().resolve():
                continue
            items.append(f"{key}={path.name}")
        else:
            items.append(override.input_line.replace("/", "-"))
    name = ",".join(sorted(items))
    if len(name.encode()) > NAME_BYTES:
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        name = name.encode()[: NAME_BYTES - len(digest) - 1].decode(errors="ignore") + "_" + digest
    return name


def conf_help(name):
    """conf/<name>.yaml as --help shows it: every key with its default and comment, and the config groups to
    choose from; not the hydra: block, nor the defaults that are no choice (schemas, _self_)."""
    text = (CONF / f"{name}.yaml").read_text()
    text = re.split(r"^hydra:", text, flags=re.M)[0]
    lines = [line for line in text.splitlines() if not re.match(r"\s+- \w+\s*(#.*)?$", line)]
    for i, line in enumerate(lines):  # a group's choice: the files of conf/<group>/ are its options
        group = re.match(r"\s+- (\w+): ", line)
        if group:
            options = " | ".join(sorted(p.stem for p in (CONF / group[1]).glob("*.yaml")))
            lines[i] = f"{line}\n{' ' * 27}# {options} (conf/{group[1]}/)"
    text = "\n".join(lines).replace("defaults:\n\n", "\n")
    return text.replace("$", "$$").rstrip()  # Hydra fills the template with string.Template: $ is its sign


# Run folders are named <time>_<overrides>, or just <time> when there are none.
OmegaConf.register_new_resolver(
    "suffix", lambda overrides: f"_{overrides}" if overrides else "", replace=True
)
OmegaConf.register_new_resolver("overrides_name", overrides_name, replace=True)
OmegaConf.register_new_resolver("conf_help", conf_help, replace=True)


# --- the sample and score commands --------------------------------------------------------------------------


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
    in_range("sample.count", cfg.count, name="count")
    in_range("seed", cfg.seed, "the run's own seed", name="seed")
    for key in ("temperature", "top_k", "max_length"):  # the run's sample.* ranges; null: the run's own value
        in_range(f"sample.{key}", cfg[key], "the run's", name=key)


def validate_score(cfg):
    """The words to score, as a list of strings; MakemoreError where an argument is missing or not words."""
    require(cfg, "checkpoint", "words")
    # A single word is a string, which iterated would be its letters.
    words = list(cfg.words) if isinstance(cfg.words, ListConfig) else [cfg.words]
    for word in words:
        # Hydra reads true, null, 1e3, nan, ... as other types: not what was typed
        if not isinstance(word, str):
            raise MakemoreError(
                f"words holds {word!r}, which Hydra reads as {type(word).__name__}, not text: "
                f"quote such words, as in \"words=['true','nan']\""
            )
    return words
