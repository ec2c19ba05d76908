"""Every schedule the config can name runs for any number of steps >= 1, as the user meant it."""

import math
import os
import signal

import pytest
import torch
from helpers import (
    after_a_second,
    assert_clear_error,
    cli,
    compose_config,
    metrics,
    resumed_halfway,
    same_weights,
    scalars,
)
from hydra.utils import instantiate

from makemore import MakemoreError, checkpoint
from makemore.models import MODELS
from makemore.signals import Interrupted
from makemore.training import Trainer, build, run

STEPS = [1, 2, 3, 5, 20, 21, 39, 40, 41, 300]


def learning_rates(*overrides, model=("model=mlp", "model.n_hidden=4")):
    """The lr of every step of a run with this config, through the run's own Trainer; and the config."""
    cfg = compose_config(*model, *overrides)
    model = build(cfg, 5, torch.device("cpu"))
    trainer, lrs = Trainer(model, cfg), []
    for _ in range(cfg.steps):
        lrs.append(trainer.optimizer.param_groups[0]["lr"])
        trainer.step(model, sum(p.sum() for p in model.parameters()))
    return lrs, cfg


@pytest.mark.parametrize("scheduler", ["constant", "step", "cosine"])
@pytest.mark.parametrize("steps", STEPS)
def test_every_schedule_takes_every_step_at_a_finite_positive_lr(scheduler, steps):
    lrs, cfg = learning_rates(f"scheduler={scheduler}", f"steps={steps}")
    assert len(lrs) == steps and all(math.isfinite(lr) and 0 < lr <= cfg.lr for lr in lrs)
    if scheduler == "cosine":  # a warm-up of at least two steps, or none: the peak is reached either way
        warm_up = cfg.scheduler.pct_start * steps
        assert lrs[0] == pytest.approx(cfg.lr if warm_up < 2 else cfg.lr / cfg.scheduler.div_factor)
        assert max(lrs) == pytest.approx(cfg.lr, rel=0.01)
        assert lrs[-1] == min(lrs) and (steps == 1 or lrs[-1] < max(lrs))  # then the decay


@pytest.mark.parametrize("steps", [40, 100, 300, 1000])
def test_the_one_cycle_schedule_is_torchs_wherever_torchs_has_a_warm_up(steps):
    lrs, cfg = learning_rates("scheduler=cosine", f"steps={steps}")
    weight = torch.nn.Parameter(torch.ones(1))
    optimizer = instantiate(cfg.optimizer)([weight], lr=cfg.lr)
    keys = {k: v for k, v in cfg.scheduler.items() if not k.startswith("_")}
    torchs = torch.optim.lr_scheduler.OneCycleLR(optimizer, **keys)
    expected = []
    for _ in range(steps):
        expected.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        torchs.step()
    assert lrs == expected


def test_a_short_mlp_run_trains(train_run, names_subset):
    """`python train.py model=mlp steps=20`: torch's one-cycle schedule divided by zero at a one-step
    warm-up."""
    out, val_nll = train_run(
        "model=mlp", f"data.path={names_subset}", "steps=20", "sample.count=0", "figures=false"
    )
    assert val_nll == metrics(out)["val_nll"] < 3.0


@pytest.mark.parametrize(
    "overrides, words",
    [
        (["scheduler=cosine", "scheduler.pct_start=1.0"], ["scheduler.pct_start=1.0", "[0, 1)"]),
        (["scheduler=cosine", "scheduler.div_factor=0"], ["scheduler.div_factor=0", "finite number > 0"]),
        (
            ["scheduler=cosine", "scheduler.final_div_factor=inf"],
            ["scheduler.final_div_factor=inf", "finite number > 0"],
        ),
        (
            ["scheduler=cosine", "scheduler.anneal_strategy=cosine"],
            ["scheduler.anneal_strategy=cosine", "cos or linear"],
        ),
        (["scheduler=step", "scheduler.gamma=1e100"], ["scheduler.gamma=1e+100", "(0, 1]"]),
        (["scheduler=step", "scheduler.gamma=-1"], ["scheduler.gamma=-1", "(0, 1]"]),
        (["scheduler=step", "scheduler.milestones=[-1]"], ["scheduler.milestones=[-1]", "integers >= 0"]),
        (["scheduler=step", "scheduler.milestones=[1.5]"], ["scheduler.milestones=[1.5]", "integers >= 0"]),
        (["scheduler.factor=0"], ["scheduler.factor=0", "(0, 1]"]),
        (["scheduler.total_iters=-1"], ["scheduler.total_iters=-1", "integer >= 0"]),
        # each key in range, and yet the lr leaves the floats: 0 after two milestones, inf at the warm-up's
        # start
        (
            ["scheduler=step", "scheduler.gamma=1e-200", "scheduler.milestones=[1,2]"],
            ["the lr would reach 0 within steps=5", "scheduler.gamma=1e-200", "change lr or those keys"],
        ),
        (
            ["scheduler=cosine", "scheduler.div_factor=1e-310"],
            ["the lr would reach inf", "scheduler.div_factor=1e-310"],
        ),
    ],
)
def test_a_schedule_whose_lr_would_not_stay_finite_and_positive_is_refused_before_any_step(
    tmp_path, names_subset, overrides, words
):
    with pytest.raises(MakemoreError) as e:
        run(compose_config(f"data.path={names_subset}", "model=neural", "steps=5", *overrides), tmp_path)
    assert all(w in str(e.value) for w in words), str(e.value)
    assert not (tmp_path / "checkpoint.pt").exists()


def test_milestones_after_the_last_step_do_not_count(train_run, names_subset):
    out, _ = train_run(
        "model=neural",
        f"data.path={names_subset}",
        "steps=5",
        "scheduler=step",
        "scheduler.gamma=1e-200",
        "scheduler.milestones=[1,5]",
        "sample.count=0",
        "figures=false",
    )
    assert metrics(out)["steps"] == 5


@pytest.mark.slow
def test_the_cli_refuses_a_schedule_out_of_range_in_one_line(tmp_path, names_subset):
    proc = cli(
        "train.py",
        f"hydra.run.dir={tmp_path / 'run'}",
        f"data.path={names_subset}",
        "model=neural",
        "scheduler=step",
        "scheduler.gamma=1e100",
        check=False,
    )
    assert_clear_error(proc, "scheduler.gamma=1e+100", "(0, 1]")
    assert not (tmp_path / "run").exists()


# --- resume -----------------------------------------------------------------------------------------------

TRAINED = [name for name in MODELS if name != "counts"]  # the models with an optimizer and a schedule


def tiny(name, names_subset, *overrides):
    return [f"model={name}", *MODELS[name].tiny, f"data.path={names_subset}", "figures=false", *overrides]


@pytest.mark.parametrize(
    "schedule",
    [
        ["scheduler=constant", "scheduler.factor=0.5", "scheduler.total_iters=7"],
        ["scheduler=step", "scheduler.milestones=[2,7]"],
    ],
)
def test_a_resume_to_more_steps_is_bit_identical_where_the_schedule_does_not_depend_on_steps(
    train_run, names_subset, schedule
):
    """5 steps resumed to 10: from the checkpoint of step 5, between the evaluations at 3 and 6 of a run of
    10, where the first run evaluated once more as its last step; the schedule turns after it, at step 7."""
    common = tiny("mlp", names_subset, *schedule, "eval_interval=3", "batch_size=32", "sample.count=5")
    whole, half = resumed_halfway(train_run, common, steps=10)
    assert same_weights(whole, half) and metrics(whole) | {"seconds": 0} == metrics(half) | {"seconds": 0}
    assert (whole / "samples.txt").read_text() == (half / "samples.txt").read_text()
    curves, resumed = scalars(whole), scalars(half)
    assert resumed["train/loss"] == curves["train/loss"]
    # the first run's last evaluation and test/nll stay; the minibatch NLLs before it count in train/nll at
    # step 6
    for tag in ("train/nll", "val/nll", "test/nll"):
        assert 5 in dict(resumed[tag]) and [(s, v) for s, v in resumed[tag] if s != 5] == curves[tag]


@pytest.mark.parametrize("name", TRAINED)
def test_a_resume_to_more_steps_moves_onto_the_one_cycle_schedule_of_the_new_steps(
    train_run, names_subset, name
):
    common = tiny(name, names_subset, "scheduler=cosine", "eval_interval=3", "sample.count=0")
    half, _ = train_run(*common, "steps=5")
    whole, _ = train_run(*common, "steps=10")
    model, _, state = checkpoint.load(half / "checkpoint.pt")
    cfg = compose_config(*common, "steps=10", f"resume={half}")
    # at step 5 the lr leaves the end of the 5-step curve for where the 10-step curve is at step 5
    trainer = Trainer(model, cfg, state)
    lrs, _ = learning_rates(*common[1:], "steps=10", f"context={model.context}", model=common[:1])
    lr = trainer.optimizer.param_groups[0]["lr"]
    assert lr == lrs[5] != state["optimizer"]["param_groups"][0]["lr"] and lrs[4] > lr > lrs[6]
    # and the optimizer's moments are the checkpoint's
    moments = trainer.optimizer.state_dict()["state"]
    assert all(
        torch.equal(moments[i][k], v) for i, m in state["optimizer"]["state"].items() for k, v in m.items()
    )
    after_a_second(half)
    run(cfg, half)
    assert metrics(half)["steps"] == 10 and [s for s, _ in scalars(half)["train/loss"]] == list(range(11))
    # it ends where a run of 10 steps ends its schedule, and the optimizer's lr with it
    ended, uninterrupted = (torch.load(f / "checkpoint.pt", weights_only=True) for f in (half, whole))
    assert ended["scheduler"] == uninterrupted["scheduler"] and ended["scheduler"]["total_steps"] == 10
    (group,), (expected,) = (s["optimizer"]["param_groups"] for s in (ended, uninterrupted))
    assert group | {"params": None} == expected | {"params": None}


@pytest.mark.parametrize("name", ["mlp", "gru"])
def test_a_run_stopped_between_two_evaluations_resumes_bit_identical_on_the_one_cycle_schedule(
    train_run, names_subset, tmp_path, monkeypatch, name
):
    """A real SIGINT after the optimizer step of step 4: the run stops at step 5, between the evaluations at 3
    and 6, with the minibatch NLL of step 4 in its checkpoint; resumed, it ends as the run never stopped."""
    common = tiny(name, names_subset, "scheduler=cosine", "steps=10", "eval_interval=3", "batch_size=32")
    whole, _ = train_run(*common, "sample.count=5")
    step = Trainer.step

    def interrupted_after_step_4(self, model, loss):
        step(self, model, loss)
        if self.scheduler.last_epoch == 5:
            os.kill(os.getpid(), signal.SIGINT)

    half = tmp_path / "half"
    half.mkdir()
    with monkeypatch.context() as patch:
        patch.setattr(Trainer, "step", interrupted_after_step_4)
        with pytest.raises(Interrupted, match="SIGINT at step 5"):
            run(compose_config(*common, "sample.count=5"), half)
    assert torch.load(half / "checkpoint.pt", weights_only=True)["since"][1] == 1
    after_a_second(half)
    run(compose_config(*common, "sample.count=5", f"resume={half}"), half)
    assert same_weights(whole, half) and metrics(whole) | {"seconds": 0} == metrics(half) | {"seconds": 0}
    assert (whole / "samples.txt").read_text() == (half / "samples.txt").read_text()
    assert scalars(half) == scalars(whole)


@pytest.mark.parametrize(
    "overrides, words",
    [
        (["steps=3"], ["the checkpoint is at step 5, past steps=3: give steps=5 or more"]),
        (["steps=10", "scheduler.total_steps=10"], ["scheduler.total_steps"]),
        (["steps=5", "scheduler.total_steps=5"], ["scheduler.total_steps=5", "give steps=5"]),
    ],
)
def test_a_resume_to_fewer_steps_or_with_the_schedules_steps_given_is_refused(
    train_run, names_subset, overrides, words
):
    common = tiny("mlp", names_subset, "scheduler=cosine", "sample.count=0")
    half, _ = train_run(*common, "steps=5")
    with pytest.raises(MakemoreError) as e:
        run(compose_config(*common, *overrides, f"resume={half}"), half)
    assert all(w in str(e.value) for w in words) and "\n" not in str(e.value), str(e.value)
    assert torch.load(half / "checkpoint.pt", weights_only=True)["step"] == 5
