"""Bad input, faults and resume: one clear line and a non-zero exit, nothing earlier lost, no code run."""

import logging
import math
import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from helpers import (
    assert_clear_error,
    cli,
    compose_config,
    drained,
    full_pipe,
    metrics,
    resumed_halfway,
    same_weights,
    scalars,
    wait_for,
)
from hydra.errors import MissingConfigException

from makemore import MakemoreError, checkpoint
from makemore.cli import one_line
from makemore.terminal import INTERRUPTED
from makemore.training import run

OUTPUTS = ("checkpoint.pt", "samples.txt", "metrics.json")


# --- config values -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "override, key",
    [
        ("smoothing=-1", "smoothing"),
        ("model=neural reg=-0.1", "reg"),
        ("model=mlp model.n_embd=0", "model.n_embd"),
        ("model=mlp model.init_std=0", "model.init_std"),
        ("model=mlp model.init_std=inf", "model.init_std"),
        ("model=mlp model.hidden_scale=2", "model.hidden_scale"),
        ("lr=0", "lr"),
        ("lr=inf", "lr"),
        ("steps=-1", "steps"),
        ("data.val_fraction=1", "data.val_fraction"),
        ("data.test_fraction=-0.1", "data.test_fraction"),
        ("sample.count=-5", "sample.count"),
        ("sample.temperature=0", "sample.temperature"),
        ("sample.top_k=0", "sample.top_k"),
        ("context=0", "context"),
        ("batch_size=0", "batch_size"),
        ("eval_interval=0", "eval_interval"),
        ("threads=0", "threads"),
        ("seed=-1", "seed"),
        ("device=tpu", "device"),
        ("optimized_metric=loss", "optimized_metric"),
        ("resume=''", "resume"),
    ],
)
def test_an_out_of_range_value_is_refused_before_any_work(tmp_path, override, key):
    with pytest.raises(MakemoreError, match=rf"bad config value {key}=.*: must be"):
        run(compose_config(*override.split()), tmp_path)
    assert not any((tmp_path / f).exists() for f in OUTPUTS)


def test_fractions_that_leave_no_training_words_are_refused(tmp_path):
    with pytest.raises(MakemoreError, match=r"data.val_fraction \+ data.test_fraction=1: must be < 1"):
        run(compose_config("data.val_fraction=0.5", "data.test_fraction=0.5"), tmp_path)


def test_a_value_of_the_wrong_type_is_refused_by_hydra_in_one_line(tmp_path):
    proc = cli("train.py", f"hydra.run.dir={tmp_path}/run", "steps=abc", check=False)
    assert_clear_error(proc, "steps=abc", "Integer")
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_an_empty_resume_is_refused_not_a_new_run(tmp_path):
    proc = cli("train.py", f"hydra.run.dir={tmp_path}/run", "resume=", check=False)
    assert_clear_error(proc, "resume=", "null (a new run) or the checkpoint.pt or run folder")
    assert not (tmp_path / "run").exists()


def test_an_unknown_model_is_named_with_the_models_there_are():
    """The line the command prints for what Hydra raises (cli.report_config_errors; one case through it
    above)."""
    with pytest.raises(MissingConfigException) as e:
        compose_config("model=lstm")
    message = one_line(e.value)
    assert all(w in message for w in ("model/lstm", "counts", "transformer")) and "\n" not in message, message


# --- data --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "does not exist"),
        ("dir", "is a directory"),
        ("under a file", "cannot be read: Not a directory"),
        (b"", "holds no words"),
        (b"\n  \n\t\n", "holds no words"),
        (b"emma\n\xff\xfeolivia\n", r"is not UTF-8 text \(byte 5 "),
        (b"a.b\n", "reserved for the start/end token"),
    ],
)
def test_bad_data_file_is_named_in_one_line(tmp_path, content, message):
    path = tmp_path / "words.txt"
    if content == "dir":
        path.mkdir()
    elif content == "under a file":  # unreadable (permissions do not stop root, who runs CI)
        (tmp_path / "file").write_text("x")
        path = tmp_path / "file" / "words.txt"
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(MakemoreError, match=message):
        run(compose_config(f"data.path={path}"), tmp_path / "run")


def test_fractions_below_1_leave_a_training_word_even_in_a_tiny_file(train_run, tmp_path):
    path = tmp_path / "w.txt"
    path.write_text("ab\ncd\n")
    out, _ = train_run(f"data.path={path}", "data.val_fraction=0.5", "data.test_fraction=0.49", "smoothing=0")
    m = metrics(out)
    assert m["train_nll"] == pytest.approx(0.0) and m["val_nll"] == float("inf") and m["test_nll"] is None


def test_windows_line_endings_and_whitespace_are_read_with_a_warning(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    path = tmp_path / "w.txt"
    path.write_bytes(b"emma\r\n  ava \r\nemma\r\n")
    out = tmp_path / "run"
    out.mkdir()
    run(compose_config(f"data.path={path}", "data.val_fraction=0", "data.test_fraction=0"), out)
    assert "Windows line endings were read as plain newlines" in caplog.text
    assert "1 line(s) had surrounding whitespace" in caplog.text
    assert "3 words" in caplog.text


@pytest.mark.slow
def test_scoring_a_character_outside_the_vocabulary_is_one_line(finished_run):
    ck = finished_run[0] / "checkpoint.pt"
    proc = cli("-m", "makemore.score", f"checkpoint={ck}", "words=[andrej,'zoë']", check=False)
    assert_clear_error(proc, "zoë", "'ë'", "vocabulary")


# --- faults during training --------------------------------------------------------------------------


# in-process: test_checkpoints_between_the_first_evaluation_and_the_last_step_wait_checkpoint_seconds
@pytest.mark.slow
def test_a_diverging_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    """Momentum past 1 grows the loss geometrically, finite for some 60 steps: the run ended as a normal
    one."""
    # a checkpoint at every evaluation
    proc = cli(
        "train.py",
        f"hydra.run.dir={tmp_path}",
        "model=neural",
        "optimizer.momentum=2",
        "checkpoint_seconds=0",
        check=False,
    )
    assert_clear_error(proc, "train NLL became", "the training diverged", "lr=50.0", "checkpoint.pt of step")
    # shown once, on stderr, and kept in the log
    assert "diverged" not in proc.stdout and "diverged" in (tmp_path / "train.log").read_text()
    stopped, kept = (int(w) for w in re.findall(r"step (\d+)", proc.stderr))
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert (
        state["step"] == kept == (stopped - 1) // 10 * 10 and torch.isfinite(state["state_dict"]["W"]).all()
    )
    assert not (tmp_path / "metrics.json").exists()


def test_a_loss_that_overflows_between_evaluations_stops_the_run_at_its_step(train_run, names_subset):
    with pytest.raises(MakemoreError, match=r"the loss became inf .*checkpoint.pt of step 0 is kept") as e:
        train_run(
            "model=neural", f"data.path={names_subset}", "lr=1e6", "eval_interval=100", "checkpoint_seconds=0"
        )
    stopped = int(re.search(r"stopped at step (\d+)", str(e.value))[1])
    assert 0 < stopped < 100  # before the evaluation that would have found the NLL past the bound


def test_an_lr_too_large_to_converge_but_stable_is_a_result_not_a_divergence(train_run, names_subset):
    out, _ = train_run(
        "model=neural", f"data.path={names_subset}", "lr=1000", "sample.count=0", "figures=false"
    )
    # worse than a uniform guess: said so
    assert 2 * math.log(27) < metrics(out)["train_nll"] < 20 * math.log(27)


def test_checkpoints_between_the_first_evaluation_and_the_last_step_wait_checkpoint_seconds(
    train_run, names_subset
):
    with pytest.raises(MakemoreError, match=r"the training diverged .*checkpoint.pt of step 0 is kept") as e:
        train_run(
            "model=neural",
            f"data.path={names_subset}",
            "optimizer.momentum=2",
            "eval_interval=1",
            "checkpoint_seconds=3600",
        )
    stopped = int(re.search(r"stopped at step (\d+)", str(e.value))[1])
    assert stopped > 1  # evaluations came between, and wrote no checkpoint
    out, _ = train_run(
        "model=neural", f"data.path={names_subset}", "steps=30", "eval_interval=1", "checkpoint_seconds=3600"
    )
    assert torch.load(out / "checkpoint.pt", weights_only=True)["step"] == 30  # the last step always writes
    assert [s for s, _ in scalars(out)["train/loss"]] == list(range(31))  # and every scalar is written


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["importing torch", "having read the data"])
def test_ctrl_c_before_training_is_one_line(tmp_path, names_subset, started, moment):
    out = tmp_path / "run"
    read, write = full_pipe()  # the run stops at the line that says what it read, before it trains
    # with SIGINT as a terminal delivers it, also where this test runs as a background job that ignores it
    proc = started(
        "train.py",
        f"hydra.run.dir={out}",
        f"data.path={names_subset}",
        "model=neural",
        stdout=write,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    os.close(write)
    if moment == "importing torch":
        wait_for(Path(f"/proc/{proc.pid}/maps"), has="libtorch_cpu")
    else:
        wait_for(out / "train.log")  # Hydra has set up the run: it reads the data, then waits to say so
    proc.send_signal(signal.SIGINT)
    drained(read)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130 and stderr.strip() == "error: interrupted; the run did not finish"
    assert not (out / "checkpoint.pt").exists()


@pytest.mark.slow
def test_ctrl_c_while_the_sample_command_imports_torch_is_one_line(finished_run, started):
    """The sample and score commands import torch once their arguments are good, inside the task."""
    read, write = full_pipe()  # should the import end first, the command stops at the first name it prints
    proc = started("-m", "makemore.sample", f"checkpoint={finished_run[0] / 'checkpoint.pt'}", stdout=write)
    os.close(write)
    wait_for(Path(f"/proc/{proc.pid}/maps"), has="libtorch_cpu")
    proc.send_signal(signal.SIGINT)
    drained(read)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130 and stderr.strip() == INTERRUPTED


@pytest.mark.slow
@pytest.mark.parametrize(
    "signum, code, model", [(signal.SIGINT, 130, "neural"), (signal.SIGTERM, 143, "counts")]
)
def test_a_signal_saves_the_current_step_and_prints_the_command_that_resumes(
    tmp_path, started, signum, code, model
):
    out = tmp_path / "lr=50,model=neural"  # named as run folders are: an unquoted override cannot hold it
    # a checkpoint at every other step, so that the run is seen past step 0; the signal comes at any step
    args = [
        f"hydra.run.dir='{out}'",
        f"model={model}",
        "steps=100000000",
        "eval_interval=2",
        "checkpoint_seconds=0",
    ]
    proc = started("train.py", *args)
    wait_for(out / "checkpoint.pt")
    while torch.load(out / "checkpoint.pt", weights_only=True)["step"] < 2:  # written whole, by a rename
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code and "Traceback" not in stderr
    step = torch.load(out / "checkpoint.pt", weights_only=True)["step"]
    said, _, command = stderr.strip().partition("; to continue, run ")
    assert (
        step > 0 and said == f"error: {signal.Signals(signum).name} at step {step}: saved {out}/checkpoint.pt"
    )
    assert [s for s, _ in scalars(out)["train/loss"]] == list(range(step))  # flushed: every step before it
    # the command as a shell reads it continues the run (here to 3 steps further, not to 100M)
    argv = [f"steps={step + 3}" if a.startswith("steps=") else a for a in shlex.split(command)]
    assert argv[:2] == ["python", "train.py"]
    cli(*argv[1:])
    assert torch.load(out / "checkpoint.pt", weights_only=True)["step"] == step + 3
    assert [s for s, _ in scalars(out)["train/loss"]] == list(range(step + 4))


@pytest.mark.slow
def test_ctrl_c_in_a_sweep_stops_the_whole_sweep(tmp_path, started):
    cmd = [
        "train.py",
        "-m",
        f"hydra.sweep.dir={tmp_path}",
        "seed=1,2",
        "steps=100000000",
        "eval_interval=1000000",
        "figures=false",
    ]
    proc = started(*cmd)
    wait_for(tmp_path / "0_eval_interval=1000000,figures=False,seed=1,steps=100000000" / "checkpoint.pt")
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("error: SIGINT at step ")
    assert not list(tmp_path.glob("1_*"))  # the second job never started


@pytest.mark.parametrize("extra", [[], ["batch_size=32"], ["context=2", "reg=1"]])
def test_a_run_resumed_halfway_ends_bit_identical_to_an_uninterrupted_one(train_run, names_subset, extra):
    common = ["model=neural", f"data.path={names_subset}", *extra]
    whole, half = resumed_halfway(train_run, common, steps=100)
    assert torch.load(half / "checkpoint.pt", weights_only=True)["step"] == 100 and same_weights(whole, half)
    assert metrics(whole) | {"seconds": 0} == metrics(half) | {"seconds": 0}
    assert (whole / "samples.txt").read_text() == (half / "samples.txt").read_text()
    curve = scalars(half)["train/loss"]
    assert [s for s, _ in curve] == list(range(101)) and curve == scalars(whole)["train/loss"]


def test_resume_with_another_config_is_refused(train_run, names_subset, tmp_path):
    half, _ = train_run("model=neural", f"data.path={names_subset}", "steps=5")
    with pytest.raises(MakemoreError, match=r"lr is 10.0 here but 50.0 in the checkpoint"):
        run(compose_config("model=neural", f"data.path={names_subset}", "lr=10", f"resume={half}"), tmp_path)


@pytest.mark.slow
def test_sigkill_at_any_moment_leaves_a_whole_checkpoint(tmp_path, started):
    cmd = [
        "train.py",
        f"hydra.run.dir={tmp_path}",
        "context=2",
        "steps=100000000",
        "eval_interval=1",
        "checkpoint_seconds=0",
    ]  # a checkpoint every step
    proc = started(*cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(tmp_path / "checkpoint.pt")
    for delay in (0.013, 0.031, 0.057, 0.101, 0.2):
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGSTOP)  # freeze it mid-write, as a SIGKILL would
        state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
        assert state["state_dict"]["N"].shape == (len(state["state_dict"]["X"]), 27)
        os.kill(proc.pid, signal.SIGCONT)
    proc.kill()
    proc.wait()
    torch.load(tmp_path / "checkpoint.pt", weights_only=True)


@pytest.mark.slow  # the summary's row for a failed job is also checked in-process (test_tools)
def test_a_failed_sweep_job_leaves_the_others_whole_and_a_row_saying_so(tmp_path):
    proc = cli("train.py", "-m", f"hydra.sweep.dir={tmp_path}", "smoothing=1,-1", "steps=3", check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "Error executing job with overrides: ['smoothing=-1', 'steps=3']" in proc.stderr
    good, bad = tmp_path / "0_smoothing=1,steps=3", tmp_path / "1_smoothing=-1,steps=3"
    assert all((good / f).exists() for f in OUTPUTS) and not any((bad / f).exists() for f in OUTPUTS)
    assert "failed: MakemoreError: bad config value smoothing=-1.0:" in (tmp_path / "summary.csv").read_text()
    assert "bad config value smoothing=-1.0:" in (bad / "train.log").read_text()


# --- checkpoints from elsewhere ------------------------------------------------------------------------


class CreatesAFile:
    """Unpickling this runs code: it creates the file `path`."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


@pytest.fixture
def malicious(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil" / "checkpoint.pt"
    path.parent.mkdir()
    torch.save({"model": "neural", "state_dict": CreatesAFile(marker)}, path)
    return path, marker


def test_a_checkpoint_that_would_run_code_is_refused_unread(malicious):
    ck, marker = malicious
    with pytest.raises(MakemoreError, match="cannot be loaded safely"):
        checkpoint.load(ck)
    assert not marker.exists()


@pytest.mark.slow  # checkpoint.load's refusal, which every command shares, is not slow (above)
def test_a_checkpoint_that_would_run_code_is_refused_by_a_resume_in_one_line(malicious, tmp_path):
    ck, marker = malicious
    proc = cli("train.py", f"resume={ck}", f"hydra.run.dir={tmp_path}/resume", check=False)
    assert_clear_error(proc, str(ck), "cannot be loaded safely")
    assert not marker.exists()


DAMAGES = {
    "truncated": lambda ck: ck.write_bytes(ck.read_bytes()[:500]),
    "garbage": lambda ck: ck.write_bytes(b"not a checkpoint at all"),
    "not ours": lambda ck: torch.save({"weights": torch.zeros(3)}, ck),
}


@pytest.fixture(params=list(DAMAGES))
def damaged(request, tmp_path, finished_run):
    """A copy of a real run's checkpoint, damaged."""
    ck = tmp_path / "checkpoint.pt"
    ck.write_bytes((finished_run[0] / "checkpoint.pt").read_bytes())
    DAMAGES[request.param](ck)
    return ck


def test_a_damaged_checkpoint_is_named_in_one_line(damaged):
    with pytest.raises(MakemoreError) as e:
        checkpoint.load(damaged)
    assert str(damaged) in str(e.value) and "\n" not in str(e.value)
