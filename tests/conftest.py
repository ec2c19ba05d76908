"""Fixtures: small data files, in-process runs, and the real CLI runs several tests only read. Shared helpers
are in helpers.py."""

import json
import os
import signal
import subprocess
import sys
from contextlib import suppress

import pytest
import torch
from filelock import FileLock
from helpers import FINISHED, NAMES, ROOT, cli, compose_config

from makemore.training import run

torch.set_num_threads(1)  # as every run does (threads=1): on these tensor sizes more threads only cost


def pytest_collection_modifyitems(items):
    """The slow tests first, so that none of them starts last and keeps the other workers waiting."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (the environment variable CI set, as .ci/run sets it) a skipped test fails: CI installs every
    extra and runs as root, so a skip there (a plugin not installed, a tmpfs that cannot be mounted) means a
    test that never ran, not a machine without the feature. No skip is expected there."""
    report = (yield).get_result()
    if report.skipped and os.environ.get("CI") and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome, report.longrepr = "failed", f"skipped in CI, where every test must run: {reason}"


@pytest.fixture
def started():
    """subprocess.Popen for a command of the project that may run long (a trainer of 10^8 steps, a sweep): in
    a session of its own, whose every process (a sweep's workers too) is killed when the test ends, however it
    ends."""
    procs = []

    def start(*args, cwd=ROOT, **kwargs):
        env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
        kwargs.setdefault("text", True)
        proc = subprocess.Popen([sys.executable, *args], cwd=cwd, env=env, start_new_session=True, **kwargs)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.__exit__(None, None, None)  # closes its pipes and waits for it


@pytest.fixture
def names_subset(tmp_path):
    """The first 2,000 names: small enough for fast runs, large enough to have every letter."""
    path = tmp_path / "names.txt"
    path.write_text("\n".join(NAMES.read_text().splitlines()[:2000]) + "\n")
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
    """Run a CLI command into the folder `name` once for the whole session, whichever pytest-xdist worker
    needs it first (the others wait for it): (folder, the finished process)."""
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
    """`python train.py` on the real names.txt (with its heatmap): (run folder, the finished process). Tests
    only read it; one that runs into it or changes it works on a copy (helpers.copy_run)."""
    return once(tmp_path_factory, "finished", ["train.py", "hydra.run.dir={out}", *FINISHED])


@pytest.fixture(scope="session")
def sweep(tmp_path_factory):
    """A real 2x2 sweep through the CLI: counts and neural, two seeds each, without heatmaps; (sweep folder,
    the finished process)."""
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
