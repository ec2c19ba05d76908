"""What the tests share: the data, composing configs, running the real CLI, and reading back what a run
wrote."""

import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import numpy as np
import torch
from hydra import compose, initialize_config_dir
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from makemore import checkpoint
from makemore.inference import sample

ROOT = Path(__file__).resolve().parents[1]
NAMES = ROOT / "data" / "names.txt"
# The overrides of the `finished_run` fixture: a test that resumes it, or runs into a copy of it, gives the
# same.
FINISHED = (f"data.path={NAMES}", "smoothing=0", "sample.count=5")


def compose_config(*overrides, config_name="config", hydra=False):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose(config_name=config_name, overrides=list(overrides), return_hydra_config=hydra)


def log_rows(lecture):
    """The rows of a lecture's log, as `python train.py -m experiment=lecture<N>` sweeps them, in order; and
    each row's config."""
    params = compose_config(f"experiment=lecture{lecture}", hydra=True).hydra.sweeper.params
    rows = params[f"lecture{lecture}"].split(",")
    return {row: compose_config(f"experiment=lecture{lecture}", f"lecture{lecture}={row}") for row in rows}


def cli(*args, cwd=ROOT, check=True, timeout=300):
    """Run a command of the project in a subprocess, as a user would."""
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    proc = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def assert_clear_error(proc, *words):
    """Exit non-zero with one line on stderr that says what is wrong, and no traceback."""
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert all(w in lines[0] for w in words), lines[0]


def metrics(folder):
    return json.loads((Path(folder) / "metrics.json").read_text())


def same_weights(a, b):
    """Whether two run folders' checkpoints hold the same model state, bit for bit."""
    wa, wb = (torch.load(Path(d) / "checkpoint.pt", weights_only=True)["state_dict"] for d in (a, b))
    return wa.keys() == wb.keys() and all(
        torch.equal(wa[k], wb[k]) if torch.is_tensor(wa[k]) else wa[k] == wb[k] for k in wa
    )


def events(folder):
    acc = EventAccumulator(str(folder), size_guidance={"tensors": 0, "images": 0, "scalars": 0})
    acc.Reload()
    return acc


def scalars(folder):
    acc = events(folder)
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def hparams_of(folder):
    content = events(folder).PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    return {k: v for k, v in start.session_start_info.hparams.items()}


def wait_for(path, timeout=60, has=None):
    """Until the file exists (and holds the text `has`)."""
    deadline = time.monotonic() + timeout
    while not path.exists() or has is not None and has not in path.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"{path} never appeared" + (f" with {has!r}" if has else "")
        time.sleep(0.01)


def full_pipe():
    """A pipe whose buffer is full: (read end, write end). A command given the write end as its stdout stops
    at its first write there (a run: the line that says what data it read, before it trains) until the read
    end is read: a moment it cannot pass, for a test to signal it in, in no race with the clock."""
    read, write = os.pipe()
    os.set_blocking(write, False)
    for chunk in (b"x" * 65536, b"x"):  # the last bytes one at a time: a write of any size must then wait
        with suppress(BlockingIOError):
            while True:
                os.write(write, chunk)
    os.set_blocking(write, True)
    return read, write


def drained(read):
    """Everything left in a pipe until its last writer closes it, past what full_pipe put in."""
    with open(read, "rb") as f:
        return f.read().lstrip(b"x").decode()


def whole(words):
    """All the words of a file as one split."""
    from makemore.batches import Split

    return Split(words.ids, words.lengths, len(words.vocab))


def new(cls, vocab_size=27, **keys):
    """A model of class `cls`, built as a run builds it: from its config dataclass, here with these keys."""
    from makemore.models import MODELS

    (config,) = [e.config for e in MODELS.values() if e.cls is cls]
    return cls(config(**keys), vocab_size)


def table_model(N, smoothing):
    """A counts model of context 1 whose count table is N (V x V)."""
    from makemore.models import Counts

    model = new(Counts, len(N), context=1, smoothing=smoothing)
    model.load_state_dict({"X": torch.arange(len(N))[:, None], "N": N})
    return model


def copy_run(folder, to):
    """A copy of a finished run's folder (hidden files too) at `to`, for a test that runs into it or changes
    it."""
    shutil.copytree(folder, to)
    return Path(to)


def after_a_second(folder):
    """Wait until the clock is past the second the newest event file in the folder was named by: TensorBoard
    orders a folder's event files by that second, so a run resumed into it must open its own in a later
    one."""
    newest = max(int(p.name.split(".")[3]) for p in Path(folder).glob("events.out.tfevents.*"))
    time.sleep(max(0.0, newest + 1 - time.time()))


def resumed_halfway(train_run, common, steps=6):
    """A run of `steps`, and a run of half as many resumed to `steps` in its own folder, as train.py resumes:
    (whole, half)."""
    from makemore.training import run

    half, _ = train_run(*common, f"steps={steps // 2}")
    whole, _ = train_run(*common, f"steps={steps}")
    after_a_second(half)
    run(compose_config(*common, f"steps={steps}", f"resume={half}"), half)
    return whole, half


def trained_both_ways(path, make, optimizer, steps):
    """The model make() builds, trained full batch on the counted distinct windows of a file's words, and from
    the same seed on every example: (the two loss curves, the two models, the counted split, every
    example)."""
    from makemore.batches import Split
    from makemore.data import read_words

    words = read_words(path)
    data = Split(words.ids, words.lengths, len(words.vocab))
    every = data.examples(np.arange(data.total), make())
    curves, models = [], []
    for loss_of in (data.nll, every.nll):
        torch.manual_seed(0)
        model = make()
        step = optimizer(model.parameters())
        curve = []
        for _ in range(steps):
            loss = loss_of(model)
            curve.append(loss.item())
            step.zero_grad()
            loss.backward()
            step.step()
        curves.append(curve)
        models.append(model)
    return curves, models, data, every


def sampled_one_at_a_time(train_run, overrides, windows):
    """A BatchNorm model's run, its checkpoint reloaded: in evaluation mode (a window's logits do not depend
    on the windows beside it), and sampling one name at a time draws the run's own samples. (model, vocab)."""
    out, _ = train_run(*overrides, "steps=20", "sample.count=5", "sample.batched=false", "figures=false")
    model, vocab, state = checkpoint.load(out / "checkpoint.pt")
    assert not model.training
    assert torch.allclose(model.next_logits(windows)[:1], model.next_logits(windows[:1]), atol=1e-6)
    drawn = sample(
        model, 5, state["config"]["seed"], batched=False, max_length=state["config"]["sample"]["max_length"]
    )
    assert [vocab.decode(w) for w in drawn] == (out / "samples.txt").read_text().split("\n")[:5]
    return model, vocab
