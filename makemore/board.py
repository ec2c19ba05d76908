"""What a run shows in TensorBoard beyond its curves: its hyperparameters, the heatmap, the first samples."""

import logging

from tensorboard.compat.proto.summary_pb2 import Summary
from torch.utils.tensorboard.summary import hparams

from makemore import figures

log = logging.getLogger(__name__)

# The same keys for every run, whatever the model: the HParams tab drops keys that some runs lack.
HPARAMS = ("model", "context", "smoothing", "reg", "lr", "seed", "steps", "batch_size",
           "data.path", "data.val_fraction", "data.test_fraction", "data.split_seed")
METRICS = ("train/nll", "val/nll", "test/nll")  # scalar tags the run writes; HParams shows their last value


def hparam_values(cfg, model_name):
    values = {}
    for key in HPARAMS:
        value = model_name if key == "model" else cfg
        for part in key.split(".") if key != "model" else ():
            value = value[part]
        values[key] = 0 if key == "batch_size" and value is None else value  # 0: full batch
    return values


def log_hparams(writer, cfg, model_name):
    """Into the run's own event file (SummaryWriter.add_hparams would make a sub-folder, a run of its own)."""
    for summary in hparams(hparam_values(cfg, model_name), {m: 0.0 for m in METRICS}):
        writer.file_writer.add_summary(summary)


def log_pictures(writer, model, itos, names, out, step):
    writer.add_text("samples", "  \n".join(names[:20]) or "(none)", step)
    if model.context != 1:
        log.info("no heatmap for context %d: a %d x %d table is not a readable picture",
                 model.context, model.contexts, model.vocab_size)
        return
    table, fmt = model.heatmap()
    image = figures.heatmap(table.numpy(), itos, fmt)
    encoded = figures.png(image)
    (out / "heatmap.png").write_bytes(encoded)
    picture = Summary.Image(height=image.height, width=image.width, colorspace=3, encoded_image_string=encoded)
    writer.file_writer.add_summary(Summary(value=[Summary.Value(tag="heatmap", image=picture)]), step)
