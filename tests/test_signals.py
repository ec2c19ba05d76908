"""A signal acts within a chunk's time wherever the run is (training, an evaluation, sampling), and what the
run saved stays whole; evaluation on a large split is bounded by eval_words, exact on names.txt.

Through the real CLI with real signals, on data files large enough that the work signalled takes many seconds;
each measures how long the process takes to exit after the signal, with a bound far above a chunk's time and
far below the whole work's.
"""

import os
import shlex
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from helpers import NAMES, ROOT, cli, compose_config, metrics, same_weights, scalars, wait_for

from makemore import checkpoint
from makemore.batches import Split
from makemore.inference import score
from makemore.signals import Interrupted
from makemore.training import load_data, run

TRAIN = str(ROOT / "train.py")
PROMPT = 10  # seconds within which a signalled run must have exited: the work it interrupts takes far longer


def start(*args):
    """The CLI, with SIGINT as a terminal delivers it, also where the tests run as a background job that
    ignores it."""
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    return subprocess.Popen(
        [sys.executable, TRAIN, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def signalled(proc, signum):
    """Send the signal; (seconds until the process exited, its stderr)."""
    sent = time.monotonic()
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=600)
    return time.monotonic() - sent, stderr


def temporaries(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.slow
def test_a_signal_during_an_evaluation_on_a_large_file_stops_the_run_at_once(tmp_path):
    data = tmp_path / "large.txt"
    data.write_text(
        NAMES.read_text() * 30
    )  # 961,000 names: evaluating val takes the transformer many seconds
    out = tmp_path / "run"
    proc = start(f"hydra.run.dir={out}", "model=transformer", f"data.path={data}", "figures=false")
    try:
        wait_for(out / "train.log", timeout=300, has="evaluations read 50000 words")
        time.sleep(2)  # step 0's minibatch is done, its evaluation under way
        seconds, stderr = signalled(proc, signal.SIGTERM)
    finally:
        proc.kill()
    assert seconds < PROMPT, f"the run took {seconds:.1f} s to stop"
    assert proc.returncode == 143 and "Traceback" not in stderr
    said, _, command = stderr.strip().partition("; to continue, run ")
    assert said == f"error: SIGTERM at step 0: saved {out}/checkpoint.pt" and "resume=" in command
    _, _, state = checkpoint.load(out / "checkpoint.pt")
    assert state["step"] == 0 and not state["logged"] and not temporaries(out)
    assert not (out / "metrics.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    "signum, code, line, sampling",
    [
        # batched: millions of names
        (signal.SIGTERM, 143, False, ["sample.count=2000000", "sample.max_length=20"]),
        # one by one, from a file of one long line that the unsmoothed counts model hardly ever ends
        (signal.SIGINT, 130, True, ["sample.batched=false", "sample.max_length=1000000", "smoothing=0"]),
    ],
)
def test_a_signal_while_the_samples_are_drawn_stops_the_run_and_resuming_finishes_it(
    tmp_path, signum, code, line, sampling
):
    data = tmp_path / "words.txt"
    data.write_text("a" * 200_000 + "\n" if line else "\n".join(NAMES.read_text().splitlines()[:50]) + "\n")
    out = tmp_path / "run"
    proc = start(f"hydra.run.dir={out}", f"data.path={data}", "figures=false", *sampling)
    try:
        wait_for(out / "train.log", timeout=300, has="train loss")  # training is over: the samples are drawn
        time.sleep(0.5)
        seconds, stderr = signalled(proc, signum)
    finally:
        proc.kill()
    assert seconds < PROMPT, f"the run took {seconds:.1f} s to stop"
    name = signal.Signals(signum).name
    said, _, command = stderr.strip().partition("; to continue, run ")
    assert proc.returncode == code and said == (
        f"error: {name} after training, before its outputs were written: {out}/checkpoint.pt holds step 100"
    )
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(("events", "."))) == [
        "checkpoint.pt",
        "train.log",
    ]
    # the command printed continues the run, which writes its outputs (here fewer samples: sample.* may
    # change)
    argv = [a for a in shlex.split(command) if not a.startswith("sample.")] + ["sample.count=3"]
    assert argv[:2] == ["python", "train.py"]
    cli(*argv[1:])
    assert metrics(out)["steps"] == 100 and len((out / "samples.txt").read_text().splitlines()) == 3


@pytest.mark.parametrize(
    "model", [["model=wavenet", "batch_size=64"], ["model=neural", "batch_size=32"], ["model=rnn"]]
)
def test_a_run_stopped_inside_an_evaluation_resumes_bit_identical(
    train_run, names_subset, monkeypatch, model
):
    """A real SIGTERM, sent as the second evaluation begins (step 2): the step is taken back and saved as it
    was before it (its minibatch draw, the mean NLL since the last evaluation, BatchNorm's running
    statistics)."""
    common = [*model, f"data.path={names_subset}", "steps=6", "eval_interval=2", "sample.count=5"]
    whole, _ = train_run(*common)
    evaluations, nll = [], Split.nll

    def signalling(split, m):
        if not m.training:
            evaluations.append(split)
            if len(evaluations) == 2:
                os.kill(os.getpid(), signal.SIGTERM)
        return nll(split, m)

    monkeypatch.setattr(Split, "nll", signalling)
    with pytest.raises(Interrupted, match="SIGTERM at step 2"):
        train_run(*common)
    monkeypatch.undo()
    stopped = whole.parent / "run2"
    state = torch.load(stopped / "checkpoint.pt", weights_only=True)
    assert state["step"] == 2 and not state["logged"] and not temporaries(stopped)
    time.sleep(max(0.0, int(time.time()) + 1 - time.time()))  # the resumed run's event file in a later second
    run(compose_config(*common, f"resume={stopped}"), stopped)
    assert same_weights(whole, stopped)
    assert metrics(whole) | {"seconds": 0} == metrics(stopped) | {"seconds": 0}
    assert scalars(whole) == scalars(stopped)
    assert (whole / "samples.txt").read_text() == (stopped / "samples.txt").read_text()


def test_a_split_of_more_than_eval_words_is_evaluated_on_a_fixed_sample_and_the_log_says_so(
    train_run, names_subset, caplog
):
    caplog.set_level("INFO")
    out, _ = train_run(f"data.path={names_subset}", "eval_words=150", "steps=3", "sample.count=0")
    assert (
        "evaluations read 150 words of the train, val and test splits (of 1,600, 200, 200 words)"
        in caplog.text
    )
    cfg = compose_config(f"data.path={names_subset}")
    words, splits = load_data(cfg)
    model, vocab, _ = checkpoint.load(out / "checkpoint.pt")
    for name in ("train", "val", "test"):
        drawn = splits[name].drawn(150, cfg.data.split_seed)
        assert len(drawn.lengths) == 150 and splits[name].holds(list_of(drawn)).all()
        # the NLL of the sample's words, one by one through the model, weighed by their predictions
        names = [words.vocab.decode(w) for w in list_of(drawn)]
        per_word = np.array(score(model, vocab, names))
        expected = (per_word * (drawn.lengths + 1)).sum() / drawn.total
        assert metrics(out)[f"{name}_nll"] == pytest.approx(expected, rel=1e-9)
        assert metrics(out)[f"{name}_nll"] != pytest.approx(splits[name].nll(model).item(), rel=1e-6)
    # the same sample at every evaluation: the counts model's flat line stays flat
    assert len({v for _, v in scalars(out)["val/nll"]}) == 1


def test_names_txt_is_evaluated_exactly_by_default(train_run, caplog):
    caplog.set_level("INFO")
    out, _ = train_run(f"data.path={NAMES}", "smoothing=0", "steps=1", "sample.count=0")
    assert "evaluations read" not in caplog.text
    cfg = compose_config(f"data.path={NAMES}")
    _, splits = load_data(cfg)
    model, _, _ = checkpoint.load(out / "checkpoint.pt")
    for name in ("train", "val", "test"):
        assert metrics(out)[f"{name}_nll"] == splits[name].nll(model).item()


def list_of(split):
    """A split's words as lists of token ids."""
    return [split.ids[a:b].tolist() for a, b in zip(split.starts[:-1], split.starts[1:])]
