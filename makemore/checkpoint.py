"""Checkpoints: the model's tensors, the vocabulary, the resolved config, the step and the training state
(optimizer, schedule, minibatch generator), in one file.

They load with `torch.load(weights_only=True)` only, so loading one never runs code from it, and the
model class is looked up among the known models, never imported from a name in the file.
"""

import io
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from makemore import MakemoreError
from makemore.data import Vocab
from makemore.models import MODELS


def save(path, model, vocab, config, step, training):
    """Write a checkpoint (atomically). `training` holds what a resumed run needs to continue exactly: the
    optimizer's and scheduler's state, and the state of the generator that draws minibatches."""
    state = {
        "model": next(name for name, (cls, _) in MODELS.items() if type(model) is cls),
        "model_args": {k: v for k, v in config["model"].items() if k != "_target_"},
        "state_dict": model.state_dict(),
        "itos": vocab.itos,
        "config": config,
        "step": step,
        **training,
    }
    buffer = io.BytesIO()  # serialized in memory, then written at once: several times faster than torch.save to a file
    torch.save(state, buffer)
    replace(path, lambda tmp: Path(tmp).write_bytes(buffer.getbuffer()))


def replace(path, write):
    """Call write(temporary path), then move the result onto `path` in one step (atomic on POSIX).

    Used for every file a run writes, so that a crash leaves the old file or the new one, never a torn one; a
    file system error (a full disk, a read-only folder) is a MakemoreError naming `path`, and leaves no
    temporary file behind.
    """
    tmp = f"{path}.{os.getpid()}.tmp"  # processes writing one file at once each use their own
    try:
        write(tmp)
        os.replace(tmp, path)
    except Exception as e:
        cause = _os_error(e)
        if cause is None:
            raise
        raise MakemoreError(f"cannot write {path}: {cause.strerror or cause}") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _os_error(error):
    """The OSError behind an error, if any: torch reports a write that failed as a RuntimeError of its own, raised
    while it handles the OSError."""
    while error is not None and not isinstance(error, OSError):
        error = error.__context__
    return error


@dataclass
class Checkpoints:
    """Where one run saves its checkpoints: call it with the step and the training state."""

    path: Path
    model: object
    vocab: Vocab
    config: dict

    def __call__(self, step, training):
        save(self.path, self.model, self.vocab, self.config, step, training)


def load(path):
    """(model, vocab, checkpoint dict) from a checkpoint file, on the CPU."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise MakemoreError(f"checkpoint {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise MakemoreError(f"checkpoint {str(path)!r} is a directory, not a checkpoint file") from None
    except Exception as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise MakemoreError(f"checkpoint {str(path)!r} cannot be loaded safely: {reason}") from None
    try:
        vocab = Vocab(list(state["itos"]))
        model = MODELS[state["model"]][0](len(vocab), **state["model_args"])
        model.load_state_dict(state["state_dict"])
    except (KeyError, TypeError, RuntimeError, ValueError) as e:
        raise MakemoreError(f"checkpoint {str(path)!r} is not a makemore checkpoint ({type(e).__name__}: {e})") from None
    return model, vocab, state
