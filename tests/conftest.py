"""Fixtures: small data files, in-process runs, and the real CLI runs several tests only read. Shared helpers
are in helpers.py."""

import json
import os
import subprocess

import pytest
import torch
from filelock import FileLock
from helpers import FINISHED, NAMES, cli, compose_config

from makemore.training import run

torch.set_num_threads(1)  # as every run does (threads=1): on these tensor sizes more threads only cost


def pytest_collection_modifyitems(items):
    """The slow tests first, so that none of them starts last and keeps the other workers waiting."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
def names_subset(tmp_path):
    """The first 2,000 names: small enough for fast runs, large enough to have every letter."""
    path = tmp_path / "names.txt"
    path.write_text("\n".join(NAMES.read_text().splitlines()[:2000]) + "\n")
    return path


@pytest.fixture
def many_names(tmp_path):
    """names.txt 300 times over (9.6M names): reading and counting them takes a second or more even on a quiet
    machine, time enough for a test to signal a run that has started but not yet trained."""
    path = tmp_path / "many.txt"
    path.write_text(NAMES.read_text() * 300)
    return path


@pytest.fixture
def train_run(tmp_path):
    """Run training in-process on a composed config; returns (run folder, value returned to Hydra)."""
    count = 0

    def train(*overrides):
        nonlocal count
        count += 1
        out = tmp_path / f"run{count}"
        out.mkdir()
        return out, run(compose_config(*overrides), out)

    return train


def once(tmp_path_factory, name, command):
    """Run a CLI command into the folder `name` once for the whole session, whichever pytest-xdist worker needs it
    first (the others wait for it): (folder, the finished process)."""
    root = (
        tmp_path_factory.getbasetemp().parent
        if os.environ.get("PYTEST_XDIST_WORKER")
        else tmp_path_factory.getbasetemp()
    )
    out, done = root / name, root / f"{name}.json"
    with FileLock(root / f"{name}.lock"):
        if not done.exists():
            proc = cli(*(a.format(out=out) for a in command))
            done.write_text(json.dumps([proc.args, proc.returncode, proc.stdout, proc.stderr]))
    return out, subprocess.CompletedProcess(*json.loads(done.read_text()))


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
    """`python train.py` on the real names.txt (with its heatmap): (run folder, the finished process). Tests only
    read it; one that runs into it or changes it works on a copy (helpers.copy_run)."""
    return once(tmp_path_factory, "finished", ["train.py", "hydra.run.dir={out}", *FINISHED])


@pytest.fixture(scope="session")
def sweep(tmp_path_factory):
    """A real 2x2 sweep through the CLI: counts and neural, two seeds each, without heatmaps; (sweep folder, the
    finished process)."""
    return once(
        tmp_path_factory,
        "sweep",
        [
            "train.py",
            "-m",
            "hydra.sweep.dir={out}",
            f"data.path={NAMES}",
            "model=counts,neural",
            "seed=1,2",
            "steps=10",
            "sample.count=3",
            "figures=false",
        ],
    )
