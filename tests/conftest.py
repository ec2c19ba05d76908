"""Fixtures: small data files and in-process runs. Shared helpers are in helpers.py."""

import pytest
import torch

from helpers import NAMES, compose_config
from makemore.training import run

torch.set_num_threads(1)  # as every run does (threads=1): on these tensor sizes more threads only cost


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
