"""The benchmark's references: the lecture's recipes, written again in makemore/bench.py, are the lecture's
nets."""

import math

import pytest
import torch

from makemore import bench


@pytest.mark.parametrize("net, count", [(bench.part3_net, 12_097), (bench.part5_net, 76_579)])
def test_the_lectures_nets_have_its_parameter_counts_and_their_loop_learns(net, count):
    _, params, _ = net(27, torch.Generator().manual_seed(0))
    assert sum(p.numel() for p in params) == count
    seconds, (train, val) = bench.lecture_recipe(net, steps=300)
    assert seconds > 0 and train < math.log(27) - 0.5 and val < math.log(27) - 0.5
