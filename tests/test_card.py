"""The design card, the product's contract: "Hydra configs pick the model (counts vs neural), smoothing count,
regularization strength, learning rate and seed; a trainer logs the loss curve to TensorBoard and writes
checkpoints plus sampled names for each run". Its commands run here verbatim, through the real CLI, in a
folder laid out as a clone is (the data in data/names.txt, runs written under runs/)."""

import csv
import json
import math
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
from helpers import NAMES, ROOT, cli, compose_config, events, hparams_of, metrics, scalars

from makemore import checkpoint
from makemore.training import run

TRAIN = str(ROOT / "train.py")


@pytest.fixture
def clone(tmp_path):
    """A working folder as a user's clone has it: data/names.txt, and no runs yet."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "names.txt").symlink_to(NAMES)
    return tmp_path


def check_run_folder(folder, steps):
    """What the card promises of every run: the loss curve in TensorBoard, a checkpoint, sampled names,
    metrics."""
    curve = scalars(folder)["train/loss"]
    assert [step for step, _ in curve] == list(range(steps + 1)) and all(math.isfinite(v) for _, v in curve)
    model, vocab, state = checkpoint.load(folder / "checkpoint.pt")
    assert state["step"] == steps and len(vocab) == 27
    names = (folder / "samples.txt").read_text().splitlines()
    assert len(names) == 20 and all(name.isalpha() for name in names)
    nlls = [metrics(folder)[f"{s}_nll"] for s in ("train", "val", "test")]
    assert 2 < nlls[0] < 3 and all(nll > 2 for nll in nlls)  # unsmoothed counts: inf on a bigram never seen
    return model, state


def test_python_train_py_model_neural_reg_0_01(clone):
    proc = cli(TRAIN, "model=neural", "reg=0.01", cwd=clone)
    (folder,) = (clone / "runs").glob("*/*")
    assert (
        folder.name.endswith("_model=neural,reg=0.01")
        and f"run folder: runs/{folder.parent.name}" in proc.stdout
    )
    model, state = check_run_folder(folder, steps=100)
    assert type(model).__name__ == "Neural" and (state["config"]["reg"], state["config"]["lr"]) == (
        0.01,
        50.0,
    )
    hparams = hparams_of(folder)
    assert hparams["reg"].number_value == 0.01 and hparams["model"].string_value == "neural"
    assert math.isnan(hparams["smoothing"].number_value)  # the counts model's key: it changes nothing here


def test_the_cards_keys_reach_the_model_they_apply_to(train_run, names_subset):
    """`python train.py smoothing=0.1` and `python train.py model=neural lr=10 seed=3`, composed as the CLI
    does."""
    data = f"data.path={names_subset}"
    smoothed, val_nll = train_run("smoothing=0.1", data, "sample.count=0")
    assert checkpoint.load(smoothed / "checkpoint.pt")[0].smoothing == 0.1
    assert val_nll != train_run(data, "sample.count=0")[1]
    neural, _ = train_run("model=neural", "lr=10", "seed=3", data, "sample.count=0")
    state = checkpoint.load(neural / "checkpoint.pt")[2]
    assert state["optimizer"]["param_groups"][0]["lr"] == 10 and state["config"]["seed"] == 3
    assert (
        scalars(neural)["train/loss"]
        != scalars(train_run("model=neural", "lr=50", "seed=3", data)[0])["train/loss"]
    )


def test_a_long_form_of_a_card_key_is_refused_with_the_card_key(tmp_path):
    for override, key in (("model.smoothing=0", "smoothing"), ("model.context=2", "context")):
        with pytest.raises(Exception, match=rf"give {key}="):
            run(compose_config(override), tmp_path)
    proc = cli(TRAIN, "model=neural", "model.reg=0.01", f"hydra.run.dir={tmp_path}/run", check=False)
    assert proc.returncode == 1 and proc.stderr.strip().splitlines() == [
        "error: Could not override 'model.reg'; reg is a key of the run, not of the model: give reg=<value>"
    ]


@pytest.mark.slow
def test_the_cards_sweep_and_tensorboards_loss_comparison(clone):
    """`python train.py -m model=counts,neural smoothing=0,1 reg=0,0.01`: every job runs, each key that does
    not apply to a job's model is said in its log and left blank in the summary; then `tensorboard --logdir
    runs` serves every run's loss curve, side by side."""
    proc = cli(TRAIN, "-m", "model=counts,neural", "smoothing=0,1", "reg=0,0.01", cwd=clone)
    (sweep,) = (clone / "runs" / "multirun").glob("*/*")
    rows = list(csv.DictReader((sweep / "summary.csv").open()))
    assert len(rows) == 8 and {r["status"] for r in rows} == {"ok"}
    for r in rows:
        blank = "reg" if r["model"] == "counts" else "smoothing"
        assert r[blank] == "" and r[{"reg": "smoothing", "smoothing": "reg"}[blank]] != ""
        log = (sweep / r["folder"] / "train.log").read_text()
        assert f"does not apply to the {r['model']} model" in log and f" {blank}=" in log
        check_run_folder(sweep / r["folder"], steps=100)
    counts = {r["smoothing"]: float(r["val_nll"]) for r in rows if r["model"] == "counts"}
    assert counts["0"] > counts["1"]  # smoothing 1 gives the bigrams never seen in training a probability
    # reg 0 and 0.01; smoothing: no change
    assert len({r["val_nll"] for r in rows if r["model"] == "neural"}) == 2
    assert "sweep folder: runs/multirun/" in proc.stdout

    server = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", "runs", "--host", "127.0.0.1", "--port", "0"],
        cwd=clone,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base, runs, deadline = None, [], time.monotonic() + 60
        while base is None:
            line = server.stderr.readline()
            assert line and time.monotonic() < deadline, "tensorboard did not start"
            if "http://" in line:
                base = line.split("http://", 1)[1].split()[0].rstrip("/") + "/data"
        while len(runs) < 8:
            assert time.monotonic() < deadline, "tensorboard did not list the runs"
            time.sleep(0.5)
            runs = json.load(urllib.request.urlopen(f"http://{base}/runs", timeout=5))
        for r in rows:
            name = f"multirun/{sweep.parent.name}/{sweep.name}/{r['folder']}"
            query = urllib.parse.urlencode({"run": name, "tag": "train/loss"})
            points = json.load(
                urllib.request.urlopen(f"http://{base}/plugin/scalars/scalars?{query}", timeout=10)
            )
            assert [p[1] for p in points] == list(range(101))  # [wall time, step, value]
            assert points[-1][2] == pytest.approx(events(sweep / r["folder"]).Scalars("train/loss")[-1].value)
    finally:
        server.terminate()
        server.wait(timeout=30)
