"""A whole run through Hydra's compose API: what it writes into its folder, and what it returns."""

import math

import pytest
import torch
from helpers import NAMES, metrics
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from makemore import checkpoint
from makemore.data import split


def scalars(folder):
    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


@pytest.mark.parametrize("model", ["counts", "neural"])
def test_a_run_writes_every_output(train_run, names_subset, model):
    out, returned = train_run(f"model={model}", f"data.path={names_subset}", "steps=20", "sample.count=7")
    m = metrics(out)
    assert set(m) == {"train_nll", "val_nll", "test_nll", "steps", "seconds", "not_applying"}
    assert m["not_applying"] == (["lr", "reg"] if model == "counts" else ["smoothing"])
    assert m["steps"] == 20 and m["seconds"] > 0
    assert returned == m["val_nll"] and all(2 < m[k] < 3.5 for k in ("train_nll", "val_nll", "test_nll"))
    samples = (out / "samples.txt").read_text().splitlines()
    assert len(samples) == 7 and all(s and "." not in s for s in samples)
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert state["step"] == 20 and state["itos"][0] == "." and state["config"]["model"]["context"] == 1


def test_loss_curve_has_every_step_and_nlls_at_the_interval(train_run, names_subset):
    out, _ = train_run("model=neural", f"data.path={names_subset}", "steps=25", "eval_interval=10")
    tags = scalars(out)
    assert [s for s, _ in tags["train/loss"]] == list(range(26))
    assert [s for s, _ in tags["train/nll"]] == [0, 10, 20, 25]
    assert [s for s, _ in tags["val/nll"]] == [0, 10, 20, 25]
    assert [s for s, _ in tags["test/nll"]] == [25]
    loss = [v for _, v in tags["train/loss"]]
    assert loss[-1] < loss[0]
    assert tags["test/nll"][0][1] == pytest.approx(metrics(out)["test_nll"], rel=1e-6)


def test_counts_model_logs_a_flat_line_over_the_same_steps(train_run, names_subset):
    out, _ = train_run("model=counts", f"data.path={names_subset}", "steps=25")
    tags = scalars(out)
    assert [s for s, _ in tags["train/loss"]] == list(range(26))
    assert len({v for _, v in tags["train/nll"]}) == 1 and len({v for _, v in tags["val/nll"]}) == 1


def test_whole_file_unsmoothed_counts_reproduce_the_lecture(train_run):
    out, _ = train_run(f"data.path={NAMES}", "smoothing=0", "data.val_fraction=0", "data.test_fraction=0")
    m = metrics(out)
    assert m["train_nll"] == pytest.approx(2.454, abs=5e-4)
    assert m["val_nll"] is None and m["test_nll"] is None


def test_unseen_bigram_in_validation_reports_inf(train_run, tmp_path):
    held_out = split(10, 0.1, 0.0, 42).tolist().index(1)  # the one word the split sends to validation
    data = tmp_path / "w.txt"
    data.write_text("".join("ba\n" if i == held_out else "ab\n" for i in range(10)))
    out, returned = train_run(
        f"data.path={data}", "smoothing=0", "data.val_fraction=0.1", "data.test_fraction=0"
    )
    m = metrics(out)
    assert m["train_nll"] == pytest.approx(0.0) and m["val_nll"] == math.inf == returned
    assert m["test_nll"] is None


def test_checkpoint_alone_rebuilds_the_model(train_run, names_subset):
    out, _ = train_run("model=neural", f"data.path={names_subset}", "steps=5")
    model, vocab, state = checkpoint.load(out / "checkpoint.pt")
    raw = torch.load(out / "checkpoint.pt", weights_only=True)
    assert torch.equal(model.W, raw["state_dict"]["W"])
    assert vocab.itos == raw["itos"] and state["config"]["steps"] == 5


def test_a_data_file_rewritten_between_two_runs_of_one_process_is_read_again(train_run, tmp_path):
    data = tmp_path / "words.txt"
    data.write_text("abc\nabd\nabe\n" * 20)
    first, _ = train_run(f"data.path={data}", "steps=1")
    data.write_text("xyz\nxyw\nxyv\n" * 20)  # the same size, at once: only the bytes differ
    second, _ = train_run(f"data.path={data}", "steps=1")
    itos = [torch.load(out / "checkpoint.pt", weights_only=True)["itos"] for out in (first, second)]
    assert itos == [list(".abcde"), list(".vwxyz")]
