"""The real command line in a subprocess: a run, a sweep, and the checkpoint commands."""

import math

import pytest
from helpers import cli, metrics
from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

RUN_FILES = {"checkpoint.pt", "samples.txt", "metrics.json", "train.log", ".hydra"}


def files(folder):
    return {p.name for p in folder.iterdir()}


def test_train_with_defaults_writes_a_complete_run_folder(finished_run):
    """`python train.py` with the defaults but the lecture's smoothing 0 (conftest's finished_run)."""
    out, proc = finished_run
    assert RUN_FILES | {"heatmap.png"} <= files(out) and any(
        n.startswith("events.out.tfevents") for n in files(out)
    )
    samples = (out / "samples.txt").read_text().splitlines()
    assert len(samples) == 5 and set(samples) <= set(proc.stdout.splitlines())
    assert 2.4 < metrics(out)["train_nll"] < 2.5


@pytest.mark.slow
def test_default_run_folder_is_under_runs_and_named_by_its_overrides(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "names.txt").write_text("emma\nolivia\nava\n")
    from helpers import ROOT

    cli(
        str(ROOT / "train.py"),
        "smoothing=2",
        "steps=2",
        "data.val_fraction=0",
        "data.test_fraction=0",
        cwd=tmp_path,
    )
    (folder,) = (tmp_path / "runs").glob("*/*")
    assert folder.name.endswith("_data.test_fraction=0,data.val_fraction=0,smoothing=2,steps=2")
    assert RUN_FILES <= files(folder)


def test_sample_command_reproduces_the_runs_samples_from_the_checkpoint(finished_run):
    out, _ = finished_run
    proc = cli("-m", "makemore.sample", f"checkpoint={out / 'checkpoint.pt'}", "count=5")
    assert proc.stdout.splitlines() == (out / "samples.txt").read_text().splitlines()


@pytest.mark.slow  # test_tools scores a word through the command too
def test_score_command_prints_each_words_nll(finished_run):
    out, _ = finished_run
    proc = cli("-m", "makemore.score", f"checkpoint={out / 'checkpoint.pt'}", "words=[andrej,andrejq]")
    scores = dict(line.split("\t") for line in proc.stdout.splitlines())
    assert math.isfinite(float(scores["andrej"])) and float(scores["andrejq"]) == math.inf


@pytest.mark.slow
def test_sweep_writes_one_complete_folder_per_job_and_tensorboard_sees_every_run(sweep):
    out, _ = sweep  # conftest: model=counts,neural seed=1,2 steps=10 sample.count=3 figures=false
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    jobs = [("counts", 1), ("counts", 2), ("neural", 1), ("neural", 2)]
    assert [f.name for f in folders] == [
        f"{i}_figures=False,model={m},sample.count=3,seed={s},steps=10" for i, (m, s) in enumerate(jobs)
    ]
    assert all(RUN_FILES <= files(f) for f in folders)
    runs = EventMultiplexer().AddRunsFromDirectory(str(out))
    runs.Reload()
    assert sorted(runs.Runs()) == [f.name for f in folders]
    for name in runs.Runs():
        assert len(runs.Scalars(name, "train/loss")) == 11
    # the two counts runs differ only in seed, which that model does not use
    assert metrics(folders[0])["val_nll"] == metrics(folders[1])["val_nll"]
    assert metrics(folders[2])["val_nll"] != metrics(folders[3])["val_nll"]


@pytest.mark.slow
def test_a_sweep_optimizing_an_empty_split_fails_before_training(tmp_path):
    proc = cli(
        "train.py",
        "-m",
        f"hydra.sweep.dir={tmp_path}",
        "data.val_fraction=0",
        "steps=1",
        "figures=false",
        check=False,
    )
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "optimized_metric=val/nll, but the val split is empty" in proc.stderr
    assert not list(tmp_path.glob("*/checkpoint.pt"))
