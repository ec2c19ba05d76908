"""Shared fixtures: the real data set, small data files, and runs through Hydra's compose API and CLI."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

from makemore.training import run

ROOT = Path(__file__).resolve().parents[1]
NAMES = ROOT / "data" / "names.txt"


@pytest.fixture
def names_subset(tmp_path):
    """The first 2,000 names: small enough for fast runs, large enough to have every letter."""
    path = tmp_path / "names.txt"
    path.write_text("\n".join(NAMES.read_text().splitlines()[:2000]) + "\n")
    return path


def compose_config(*overrides, config_name="config"):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose(config_name=config_name, overrides=list(overrides))


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


def cli(*args, cwd=ROOT, check=True):
    """Run a command of the project in a subprocess, as a user would."""
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def metrics(folder):
    return json.loads((Path(folder) / "metrics.json").read_text())


def same_weights(a, b):
    """Whether two run folders' checkpoints hold the same model state, bit for bit."""
    wa, wb = (torch.load(Path(d) / "checkpoint.pt", weights_only=True)["state_dict"] for d in (a, b))
    return wa.keys() == wb.keys() and all(
        torch.equal(wa[k], wb[k]) if torch.is_tensor(wa[k]) else wa[k] == wb[k] for k in wa
    )
