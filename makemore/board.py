"""What a run shows in TensorBoard beyond its curves: its hyperparameters, the heatmap, the first samples."""

import functools
import logging
import math
from dataclasses import fields

from omegaconf import OmegaConf
from tensorboard.compat.proto.summary_pb2 import Summary
from torch.utils.tensorboard.summary import hparams

from makemore import figures
from makemore.config import CONF, flat, interpolated, option_keys
from makemore.models import MODELS, named

log = logging.getLogger(__name__)
# Keys that say how a run was carried out or what it prints, not what it computes.
NOT_HPARAMS = (
    "resume",
    "threads",
    "device",
    "figures",
    "eval_interval",
    "checkpoint_seconds",
    "optimized_metric",
    "sample",
    "diagnostics",
)
METRICS = ("train/nll", "val/nll", "test/nll")  # scalar tags the run writes; HParams shows their last value


@functools.cache
def hparam_keys():
    """Every key a run of any model, optimizer or schedule can have, so that every run of a sweep logs the
    same set (the HParams tab drops keys that some runs lack): each group's options, read from their
    schemas."""
    keys = {
        f"model.{f.name}"
        for entry in MODELS.values()
        for f in fields(entry.config)
        if not f.name.startswith("_") and not interpolated(f.default)
    }
    for group in ("optimizer", "scheduler"):
        for option in (CONF / group).glob("*.yaml"):
            keys |= {f"{group}.{k}" for k in option_keys(group, option) if not k.startswith("_")}
    return frozenset(keys)


def hparam_values(cfg, ignored=()):
    """The run's hyperparameters: its top-level keys, the model, optimizer and schedule (by name) and their
    keys; NaN for a key this run's choices lack or its model does not use (`ignored`); 0 for a full-batch
    batch_size."""
    config = OmegaConf.to_container(cfg, resolve=True)
    name, entry = named(config["model"]["_target_"])
    names = {
        "model": name,
        "optimizer": config["optimizer"]["_target_"].rsplit(".", 1)[1],
        "scheduler": config["scheduler"]["_target_"].rsplit(".", 1)[1],
    }
    # a model key the run takes from its top level (context, smoothing): HParams shows it once, there
    shared = {f"model.{f.name}" for f in fields(entry.config) if interpolated(f.default)}
    keys = {
        k: math.nan if k in ignored else v
        for k, v in flat(config).items()
        if k.split(".")[0] not in NOT_HPARAMS and k not in shared and not k.split(".")[-1].startswith("_")
    }
    values = names | {k: keys.get(k, math.nan) for k in sorted(hparam_keys() | set(keys))}
    values["batch_size"] = values["batch_size"] or 0  # 0: full batch
    return {k: str(v) if isinstance(v, (list, type(None))) else v for k, v in values.items()}


def log_hparams(writer, cfg, ignored=()):
    """Into the run's own event file (SummaryWriter.add_hparams would make a sub-folder, a run of its own)."""
    for summary in hparams(hparam_values(cfg, ignored), {m: 0.0 for m in METRICS}):
        writer.file_writer.add_summary(summary)


def log_pictures(writer, model, itos, names, novelty, out, step, heatmap=True):
    """The first samples (and where they come from) in the text tab, and the heatmap in the images tab."""
    writer.add_text("samples", "  \n".join([novelty, *names[:20]]), step)
    picture = model.heatmap() if heatmap else None
    if picture is None:
        if heatmap:
            log.info("no heatmap: only a bigram model (context 1) has a V x V picture")
        return
    table, fmt = picture
    image = figures.heatmap(table.numpy(), itos, fmt)
    encoded = figures.png(image)
    (out / "heatmap.png").write_bytes(encoded)
    summary = Summary.Image(
        height=image.height, width=image.width, colorspace=3, encoded_image_string=encoded
    )
    writer.file_writer.add_summary(Summary(value=[Summary.Value(tag="heatmap", image=summary)]), step)
