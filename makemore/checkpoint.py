"""Checkpoints: the model's tensors, the vocabulary, the resolved config, the step and the training state
(optimizer, schedule, minibatch generator), in one file.

They load with `torch.load(weights_only=True)` only, so loading one never runs code from it, and the
model class is looked up among the known models, never imported from a name in the file.
"""

import io
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException
from torch.utils._pytree import tree_leaves

from makemore import MakemoreError, memory
from makemore.config import Config, validate
from makemore.data import END, Vocab
from makemore.files import replace
from makemore.models import MODELS, named
from makemore.terminal import first_line

TRAINING = ("rng", "since", "logged", "optimizer", "scheduler")  # what a resumed run continues from


def save(path, model, vocab, config, step, training, statistics=None):
    """Write a checkpoint (atomically). `training` holds what a resumed run needs to continue exactly: the
    optimizer's and scheduler's state, and the state of the generator that draws minibatches; `statistics`,
    the running statistics as they were before this step's forward pass, where it has run
    (training.descend)."""
    state = {
        "state_dict": model.state_dict() | (statistics or {}),
        "itos": vocab.itos,
        "config": config,
        "step": step,
        **training,
    }
    # serialized in memory, then written at once: several times faster than torch.save to a file, for a small
    # one
    if sum(t.nbytes for t in tree_leaves(state) if torch.is_tensor(t)) <= memory.SMALL:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        replace(path, lambda tmp: Path(tmp).write_bytes(buffer.getbuffer()))
    else:  # a large one straight into the file: in memory it would be another copy of the weights and moments
        replace(path, lambda tmp: _save_into(state, tmp))


def _save_into(state, tmp):
    with open(tmp, "wb") as f:  # a Python file: a full disk is its OSError, which replace() reports
        torch.save(state, f)


@dataclass
class Checkpoints:
    """Where one run saves its checkpoints: call it with the step and the training state."""

    path: Path
    model: object
    vocab: Vocab
    config: dict

    def __call__(self, step, training, statistics=None):
        save(self.path, self.model, self.vocab, self.config, step, training, statistics)


def load(path):
    """(model, vocab, checkpoint dict) from a checkpoint file, on the CPU. Everything a command takes from it
    is checked first (structure, types, ranges, shapes, finiteness), so that a file that is not a whole
    makemore checkpoint is named in one line, here, and not in a traceback later."""
    state = _read(path)
    try:
        return _checked(state, path)
    except Damaged as e:
        raise MakemoreError(f"checkpoint {str(path)!r} is not a makemore checkpoint: {e}") from None


def _read(path):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise MakemoreError(f"checkpoint {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise MakemoreError(f"checkpoint {str(path)!r} is a directory, not a checkpoint file") from None
    except Exception as e:
        raise MakemoreError(f"checkpoint {str(path)!r} cannot be loaded safely: {first_line(e)}") from None


class Damaged(Exception):
    """What is wrong with a checkpoint's content."""


def _show(value):
    if torch.is_tensor(value):
        return f"a tensor of shape {tuple(value.shape)}"
    text = repr(value)
    return text if len(text) <= 60 else f"a {type(value).__name__} ({text[:40]}...)"


def _expect(ok, key, value, what):
    if not ok:
        raise Damaged(f"{key} is {_show(value)}, not {what}")


def _integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _checked(state, path):
    _expect(isinstance(state, dict), "its content", state, "a dict of a run's state")
    for key in ("state_dict", "itos", "config", "step", *TRAINING):
        if key not in state:
            raise Damaged(f"it has no {key!r}")
    itos, step = state["itos"], state["step"]
    _expect(
        isinstance(itos, list)
        and all(isinstance(c, str) and len(c) == 1 for c in itos)
        and itos[:1] == [END]
        and len(set(itos)) == len(itos),
        "itos",
        itos,
        f"a list of distinct characters, {END!r} first",
    )
    _expect(_integer(step) and step >= 0, "step", step, "an integer >= 0")
    config = state["config"]
    _expect(isinstance(config, dict), "config", config, "a dict of the run's settings")
    _expect(
        isinstance(config.get("model"), dict), "config's model", config.get("model"), "a dict of its keys"
    )
    target = config["model"].get("_target_")
    name, entry = named(target)
    _expect(
        entry is not None,
        "config's model._target_",
        target,
        "one of " + ", ".join(f"makemore.models.{e.cls.__name__}" for e in MODELS.values()),
    )
    cfg = _config(config, entry)
    _expect(step <= cfg.steps, "step", step, f"at most the run's steps={cfg.steps}")
    _check_training_types(state)
    model = _model(path, name, entry, cfg.model, len(itos), state["state_dict"])
    return model, Vocab(itos), state


def _config(config, entry):
    """The run's config, checked as train.py checks its own: the schema's types (its model's too), then the
    ranges; its model node becomes the model's config dataclass, whose __post_init__ checks the model's
    ranges."""
    try:
        cfg = OmegaConf.merge(
            OmegaConf.structured(Config), {"model": OmegaConf.structured(entry.config)}, config
        )
        if OmegaConf.missing_keys(cfg):
            raise Damaged(f"its config has no {sorted(OmegaConf.missing_keys(cfg))[0]}")
        validate(cfg)
    except OmegaConfBaseException as e:
        raise Damaged(f"its config: {first_line(e)} ({getattr(e, 'full_key', '')})") from None
    except MakemoreError as e:
        raise Damaged(f"its config: {e}") from None
    for key in ("context", "sample.max_length"):  # null in a config: a run sets them before it saves
        _expect(
            _integer(OmegaConf.select(cfg, key)), f"config's {key}", OmegaConf.select(cfg, key), "an integer"
        )
    return cfg


def _check_training_types(state):
    """The types of what a resumed run continues from (check_training loads them into a run)."""
    rng, since = state["rng"], state["since"]
    _expect(torch.is_tensor(rng) and rng.dtype == torch.uint8, "rng", rng, "a generator's state (bytes)")
    try:
        torch.Generator().set_state(rng)
    except RuntimeError:
        raise Damaged(f"rng is {_show(rng)}, not a generator's state") from None
    _expect(
        isinstance(since, (list, tuple))
        and len(since) == 2
        and isinstance(since[0], (int, float))
        and _integer(since[1])
        and since[1] >= 0,
        "since",
        since,
        "a (sum, count) of NLLs",
    )
    _expect(isinstance(state["logged"], bool), "logged", state["logged"], "true or false")
    for key in ("optimizer", "scheduler"):
        _expect(state[key] is None or isinstance(state[key], dict), key, state[key], "null or a state dict")


def _model(path, name, entry, node, vocab_size, state_dict):
    """The model, its weights from state_dict: checked on the meta device first (keys, shapes, size in
    memory), where nothing is allocated, and for weights that are not finite."""
    cls, config = entry.cls, OmegaConf.to_object(node)
    _expect(
        isinstance(state_dict, dict)
        and all(isinstance(k, str) and torch.is_tensor(v) for k, v in state_dict.items()),
        "state_dict",
        state_dict,
        "a dict of tensors",
    )
    for key, tensor in state_dict.items():
        if (tensor.is_floating_point() or tensor.is_complex()) and not torch.isfinite(tensor).all():
            raise Damaged(f"state_dict[{key!r}] holds nan or inf")
    meta = memory.on_meta(cls, config, vocab_size)
    memory.require(
        memory.model_bytes(meta, copies=1),
        f"checkpoint {str(path)!r} holds a {name} model whose weights",
        "load it on a machine with more memory",
    )
    try:
        meta.load_state_dict(state_dict, assign=True)  # strict: the same keys, of the same shapes
    except RuntimeError as e:
        lines = _lines(e)  # the first only names the class: "Error(s) in loading state_dict for Neural:"
        raise Damaged(
            f"state_dict does not fit its config's model: {'; '.join(lines[1:] or lines)}"
        ) from None
    except ValueError as e:  # a model's own check of what it loads (the counts model's table)
        raise Damaged(f"state_dict: {e}") from None
    model = cls(config, vocab_size)
    model.load_state_dict(state_dict)
    # for sampling and scoring: a layer that trains otherwise (BatchNorm) uses what it learned
    return model.eval()


def _lines(error):
    return [line.strip() for line in str(error).splitlines() if line.strip()]


def check_training(state, fresh, loaded):
    """Whether a checkpoint's optimizer and schedule can continue a run: `fresh` is the run's trainer, and
    loaded() the same loaded from the checkpoint, whose error (or one in what it loaded) is raised as
    Damaged."""
    for key in ("optimizer", "scheduler"):
        mine = getattr(fresh, key)
        _expect(
            (state[key] is None) == (mine is None),
            key,
            state[key],
            "null, as this run has none" if mine is None else f"the state of a {type(mine).__name__}",
        )
    try:
        trainer = loaded()
    except Exception as e:  # torch raises anything for a state dict it cannot use
        raise Damaged(f"its optimizer or schedule does not fit this run's: {first_line(e)}") from None
    if trainer.optimizer is not None:
        _like(
            state["optimizer"]["param_groups"],
            fresh.optimizer.state_dict()["param_groups"],
            "optimizer's param_groups",
        )
        for weight, moments in trainer.optimizer.state.items():
            for key, value in moments.items():
                if key == "step":  # a power in Adam's bias corrections, which are < 0 or 0 at a negative one
                    n = value.item() if torch.is_tensor(value) and value.numel() == 1 else value
                    _expect(
                        isinstance(n, (int, float)) and float(n).is_integer() and 0 <= n <= state["step"],
                        "optimizer's step",
                        n,
                        f"an integer in [0, {state['step']}]: the steps it took",
                    )
                    continue
                if torch.is_tensor(value) and (
                    value.dim() and value.shape != weight.shape or not torch.isfinite(value).all()
                ):
                    raise Damaged(
                        f"optimizer's {key} is {_show(value)}, not finite and shaped as its weight "
                        f"{tuple(weight.shape)}"
                    )
        _like(state["scheduler"], fresh.scheduler.state_dict(), "scheduler")
        # the schedule steps once a step: one at another step would end early, or run past its end
        _expect(
            state["scheduler"]["last_epoch"] == state["step"],
            "scheduler's last_epoch",
            state["scheduler"]["last_epoch"],
            f"the checkpoint's step, {state['step']}",
        )


def _like(saved, fresh, where):
    """A saved state has the structure of a fresh one: the same keys, lists of the same length, and
    numbers, text, true/false or null where those are."""
    if isinstance(fresh, dict):
        _expect(
            isinstance(saved, dict) and saved.keys() == fresh.keys(),
            where,
            saved,
            f"a dict of {sorted(fresh)}",
        )
        for key in fresh:
            _like(saved[key], fresh[key], f"{where}[{key!r}]")
    elif isinstance(fresh, (list, tuple)):
        _expect(
            isinstance(saved, (list, tuple)) and len(saved) == len(fresh),
            where,
            saved,
            f"a list of {len(fresh)}",
        )
        for i, (s, f) in enumerate(zip(saved, fresh)):
            _like(s, f, f"{where}[{i}]")
    elif isinstance(fresh, (int, float)) and not isinstance(fresh, bool):
        _expect(
            isinstance(saved, (int, float)) and not isinstance(saved, bool) and math.isfinite(saved),
            where,
            saved,
            "a finite number",
        )
    else:
        _expect(type(saved) is type(fresh), where, saved, f"a {type(fresh).__name__}")
