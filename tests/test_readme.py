"""The README is a short guide whose commands work: within its size, the design card's commands first in
Train, every training command it shows composes, and every file it links to exists."""

import re
import shlex

from helpers import ROOT, compose_config
from hydra.core.override_parser.overrides_parser import OverridesParser

README = (ROOT / "README.md").read_text()
CARD = """\
python train.py model=neural reg=0.01              # the lecture's neural bigram, with its weight penalty
python train.py smoothing=0.1                      # the counts model (the bigram table), smoothed
python train.py model=neural lr=10 seed=3          # learning rate and seed
python train.py -m model=counts,neural smoothing=0,1 reg=0,0.01   # a sweep: every job gets its own run folder
tensorboard --logdir runs                          # every run's loss curve, side by side
"""


def training_commands():
    """The arguments of every `python train.py ...` in the README's code blocks, without its comment."""
    lines = [
        line for block in re.findall(r"```[a-z]*\n(.*?)```", README, re.S) for line in block.splitlines()
    ]
    return [
        shlex.split(line.split("python train.py", 1)[1].split(" #", 1)[0])
        for line in lines
        if "python train.py" in line
    ]


def jobs(overrides):
    """One override list per value of the longest sweep, each sweep's values in turn: every value composes
    once."""
    parsed = OverridesParser.create().parse_overrides([o for o in overrides if o != "-m"])
    values = [
        [o.input_line]
        if not o.is_sweep_override()
        else [f"{o.get_key_element()}={v}" for v in o.sweep_string_iterator()]
        for o in parsed
    ]
    return [[v[i % len(v)] for v in values] for i in range(max(map(len, values), default=1))]


def test_the_readme_is_a_short_guide():
    assert len(README.encode()) <= 12_000


def test_the_train_section_starts_with_the_design_cards_commands_and_keys():
    train = README.split("\n## Train\n", 1)[1]
    commands = train.split("```bash\n", 1)[1]
    assert commands.startswith(CARD + "```\n\n| key |")
    assert all(
        f"| `{key}` |" in commands.split("\n\n")[1] for key in ("model", "smoothing", "reg", "lr", "seed")
    )


def test_every_training_command_in_the_readme_composes():
    commands = training_commands()
    assert ["model=neural", "reg=0.01"] in commands and len(commands) >= 10
    for overrides in commands:
        for job in jobs(overrides):
            compose_config(*job)


def test_every_file_the_readme_links_to_exists():
    links = re.findall(r"\]\(([^)]+)\)", README)
    assert all((ROOT / link).exists() for link in links if not link.startswith("http"))
