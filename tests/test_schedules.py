"""Every schedule the config can name runs for any number of steps >= 1, as the user meant it."""

import math

import pytest
import torch
from helpers import assert_clear_error, cli, compose_config, metrics
from hydra.utils import instantiate

from makemore import MakemoreError
from makemore.training import Trainer, build, run

STEPS = [1, 2, 3, 5, 20, 21, 39, 40, 41, 300]


def learning_rates(*overrides):
    """The lr of every step of a run with this config, through the run's own Trainer; and the config."""
    cfg = compose_config("model=mlp", "model.n_hidden=4", *overrides)
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
    """`python train.py model=mlp steps=20`: torch's one-cycle schedule divided by zero at a one-step warm-up."""
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
        # each key in range, and yet the lr leaves the floats: 0 after two milestones, inf at the warm-up's start
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
