"""Write docs/errors.md, the catalogue of bad input and faults, from what the commands print for each.

    python docs/errors.py

Every case runs for real, in a temporary folder laid out as a clone is (data/names.txt) with small data files
and a finished run beside it; the table shows the command as typed there, its exit code, and what it printed
on stderr (for a run that goes on, the warnings or the last line it printed). A full or read-only disk is a
tmpfs mounted for the case, which needs root; elsewhere those rows say so.
"""

import datetime
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "errors.md"
NAMES = ROOT / "data" / "names.txt"
LONG = "x" * 300
WAITING = ("steps=100000000", "eval_interval=1000000")  # a run that trains until it is stopped

INTRO = """\
# Bad input and faults

Written by `python docs/errors.py`, which runs each command below in a temporary folder and records what it
printed: do not edit by hand. Every key's type and range is checked before any work starts (the config's
schema, which Hydra checks as it composes, and the ranges types cannot say), and memory is estimated before it
is spent. A problem you can fix ends the command with one line on stderr and a non-zero exit, never a
traceback, and never touches an earlier result. A run refused before it trains leaves its folder as it was,
and a new folder not at all. `python train.py --help` lists every key with its default and comment.

In the folder: `data/names.txt`; `words.txt`, its first 50 names; `run/`, a finished
`python train.py hydra.run.dir=run data.path=words.txt`; and the other files each case names.
"""

OUTRO = """\
## Resume, and what survives a crash

`python train.py ... 'resume="runs/<run>"'` continues a run in its own folder, where it appends to the log
(given `hydra.run.dir`, in that new folder instead, leaving its own alone): the same config, but `steps`,
`eval_interval`, `checkpoint_seconds`, `threads`, `device`, `figures`, `optimized_metric` and `sample.*` may
change. More `steps` on the cosine schedule redraw its curve over them:
the lr moves onto the new curve at the checkpoint's step. Run folders are named by their overrides, and Hydra
reads a value with `=` or `,` in it only between quotes: the command printed after Ctrl-C is quoted for the
shell and for Hydra whatever the folder's name holds. A run stopped and resumed ends with the weights,
metrics, samples and TensorBoard curve of a run never stopped, bit for bit, for every model. `checkpoint.pt`
is written atomically (a temporary file, then `os.replace`): a run killed at any moment, even by SIGKILL,
leaves the previous whole checkpoint or the new one, and no `*.tmp`.
"""


class RunsCode:
    """Unpickling this would run code: `print`, as a stand-in for anything."""

    def __reduce__(self):
        return (print, ("this ran",))


def setup(tmp):
    """The clone's data, small files, a finished run and the checkpoints the cases read."""
    (tmp / "data").mkdir()
    (tmp / "data" / "names.txt").symlink_to(NAMES)
    names = NAMES.read_text().splitlines()
    files = {
        "words.txt": "\n".join(names[:50]) + "\n",
        "empty.txt": "",
        "blank.txt": "\n  \n\t\n",
        "latin1.txt": b"emma\n\xff\xfeolivia\n",
        "dots.txt": "a.b\n",
        "crlf.txt": b"emma\r\n  ava \r\nemma\r\n",
        "bom.txt": "\ufeffemma\nava\n",
        "few.txt": "ab\ncd\n",
        "file": "x",
        "notes/notes.txt": "mine\n",
        "many.txt": NAMES.read_text() * 300,
        "garbage.pt": b"not a checkpoint at all",
    }
    for name, content in files.items():
        (tmp / name).parent.mkdir(exist_ok=True)
        getattr(tmp / name, "write_bytes" if isinstance(content, bytes) else "write_text")(content)
    (tmp / "dir.txt").mkdir()
    os.mkfifo(tmp / "fifo.txt")
    finished = start("python train.py hydra.run.dir=run data.path=words.txt", tmp)
    assert finished.wait() == 0, finished.stderr.read()
    shutil.copytree(tmp / "run", tmp / "busy")
    shutil.copy(tmp / "run" / "checkpoint.pt", tmp / "backup.pt")
    (tmp / "truncated.pt").write_bytes((tmp / "backup.pt").read_bytes()[:500])
    torch.save({"weights": torch.zeros(3)}, tmp / "other.pt")
    torch.save({"model": "neural", "state_dict": RunsCode()}, tmp / "evil.pt")
    for name, options in (("ro", "ro,size=64k"), ("full", "size=40k")):
        (tmp / name).mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(tmp / name)], capture_output=True)


def start(command, tmp):
    """Start a command as typed in the folder (`python` is this interpreter, `train.py` this project's)."""
    args = [
        {"python": sys.executable, "train.py": str(ROOT / "train.py")}.get(a, a) for a in shlex.split(command)
    ]
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"} | {"PYTHONPATH": str(ROOT)}
    return subprocess.Popen(args, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(pattern, tmp, has="", count=1):
    """Until `count` files matching the glob exist in the folder (and hold `has`)."""
    deadline = time.monotonic() + 120
    while sum(has in p.read_text(errors="replace") for p in tmp.glob(pattern)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{pattern} never appeared with {has!r}")
        time.sleep(0.01)


def signalled(signum, pattern, has="", count=1, after=0):
    """Send the signal once the files appear (and hold `has`), `after` seconds more: a moment of the run."""

    def act(proc, command, tmp):
        wait_for(pattern, tmp, has, count)
        time.sleep(0.5 if pattern.endswith(".pt") else after)  # a checkpoint: let it train on a little
        proc.send_signal(signum)

    return act


def while_busy(proc, command, tmp):
    """The same command again while the first holds the folder: what the second says. Then stop the first."""
    wait_for("busy/train.log", tmp, "resuming")
    second = start(command, tmp)
    out, err = second.communicate(timeout=300)
    proc.send_signal(signal.SIGTERM)
    proc.communicate()
    return second.returncode, out, err


def head_2(proc, command, tmp):
    """`| head -2`: read two lines and close the pipe."""
    proc.stdout.readline(), proc.stdout.readline()
    proc.stdout.close()
    return proc.wait(timeout=300), "", proc.stderr.read()


FAST = "data.path=words.txt figures=false sample.count=2"
# (what you did, the command as typed, None or act(proc, command, tmp): what is done to it as it runs)
CASES = [
    ("a value out of its range", "python train.py lr=-1", None),
    ("", "python train.py smoothing=-1", None),
    ("", "python train.py steps=-1", None),
    ("", "python train.py context=0", None),
    ("", "python train.py sample.count=-1", None),
    ("", "python train.py seed=18446744073709551616", None),
    (
        "fractions that leave no word to train on",
        "python train.py data.val_fraction=0.6 data.test_fraction=0.5",
        None,
    ),
    ("heads that do not divide the embedding", "python train.py model=transformer model.n_head=3", None),
    ("a string where a number belongs", "python train.py steps=abc", None),
    ("a model that does not exist", "python train.py model=lstm", None),
    ("a card key under the model", "python train.py model=neural model.reg=0.01", None),
    ("a data file that does not exist", "python train.py data.path=missing.txt", None),
    ("a directory", "python train.py data.path=dir.txt", None),
    ("a device, not a file", "python train.py data.path=/dev/zero", None),
    ("a FIFO", "python train.py data.path=fifo.txt", None),
    ("an empty file", "python train.py data.path=empty.txt", None),
    ("only blank lines", "python train.py data.path=blank.txt", None),
    ("bytes that are not UTF-8", "python train.py data.path=latin1.txt", None),
    ("a `.` in the data (the start/end token)", "python train.py data.path=dots.txt", None),
    (
        "Windows line endings, surrounding whitespace (the run goes on)",
        "python train.py data.path=crlf.txt data.val_fraction=0 data.test_fraction=0",
        None,
    ),
    (
        "a byte-order mark (the run goes on)",
        "python train.py data.path=bom.txt data.val_fraction=0 data.test_fraction=0",
        None,
    ),
    ("too few words for a split (the run goes on)", "python train.py data.path=few.txt", None),
    (
        "a character the model never saw",
        "python -m makemore.score checkpoint=run/checkpoint.pt \"words=['zoë']\"",
        None,
    ),
    ("a table too large for memory", "python train.py model=neural context=9", None),
    ("a model too large for memory", "python train.py model=transformer model.n_embd=1000000", None),
    ("a device this machine does not have", "python train.py device=cuda", None),
    ("a loss that becomes NaN or infinite", "python train.py model=neural lr=1e6", None),
    ("a loss that diverges without becoming inf", "python train.py model=neural optimizer.momentum=2", None),
    (
        "a schedule's key out of range",
        "python train.py model=neural scheduler=step scheduler.gamma=1e100",
        None,
    ),
    ("", "python train.py model=mlp scheduler.pct_start=1.0", None),
    (
        "a schedule whose lr would leave the floats",
        "python train.py model=neural scheduler=step scheduler.gamma=1e-200 scheduler.milestones=[1,2]",
        None,
    ),
    (
        "a schedule's key that is the run's",
        "python train.py model=mlp scheduler.total_steps=5 steps=10",
        None,
    ),
    ("the optimizer's lr, given as Hydra advises", "python train.py model=neural +optimizer.lr=3", None),
    ("a key that does not apply to the model (the run goes on)", f"python train.py lr=10 {FAST}", None),
    (
        "a batch larger than the train split (the run goes on)",
        f"python train.py model=neural batch_size=100000 {FAST}",
        None,
    ),
    ("nothing to resume", "python train.py resume=''", None),
    (
        "a temperature near 0 (the likeliest names)",
        "python -m makemore.sample checkpoint=run/checkpoint.pt temperature=1e-310 count=2",
        None,
    ),
    (
        "Ctrl-C during training",
        f"python train.py hydra.run.dir=stopped model=neural {' '.join(WAITING)} {FAST}",
        signalled(signal.SIGINT, "stopped/checkpoint.pt"),
    ),
    (
        "SIGTERM during training",
        f"python train.py hydra.run.dir=ended {' '.join(WAITING)} {FAST}",
        signalled(signal.SIGTERM, "ended/checkpoint.pt"),
    ),
    (
        "Ctrl-C while the samples are drawn",
        "python train.py hydra.run.dir=writing data.path=words.txt sample.count=2000000 sample.max_length=20",
        signalled(signal.SIGINT, "writing/train.log", "train loss"),
    ),
    (
        "SIGTERM during an evaluation of a large file",
        "python train.py hydra.run.dir=evaluating model=transformer data.path=many.txt figures=false",
        signalled(signal.SIGTERM, "evaluating/train.log", "evaluations read", after=2),
    ),
    (
        "Ctrl-C while the command reads the data",
        "python train.py hydra.run.dir=reading data.path=many.txt",
        signalled(signal.SIGINT, "reading/train.log"),
    ),
    (
        "SIGTERM to a sweep on the joblib launcher",
        "python train.py -m hydra/launcher=joblib hydra.launcher.n_jobs=2 "
        f"hydra.sweep.dir=jobs seed=1,2 {' '.join(WAITING)} {FAST}",
        signalled(signal.SIGTERM, "jobs/*/checkpoint.pt", count=2),
    ),
    (
        "a run into a folder that holds a run",
        "python train.py hydra.run.dir=run data.path=words.txt smoothing=5",
        None,
    ),
    ("a run into a folder that holds other files", "python train.py hydra.run.dir=notes", None),
    ("two resumes of one run at once", f"python train.py {' '.join(WAITING)} {FAST} resume=busy", while_busy),
    ("a resume with another config", "python train.py data.path=words.txt smoothing=3 resume=run", None),
    (
        "a resume to fewer steps than its checkpoint's",
        "python train.py data.path=words.txt steps=5 resume=run",
        None,
    ),
    (
        "a resume of a copy of a checkpoint (a new folder)",
        f"python train.py {FAST} steps=120 resume=backup.pt",
        None,
    ),
    (
        "a resume into a new folder: its own is left alone",
        f"python train.py {FAST} steps=120 resume=run hydra.run.dir=branch",
        None,
    ),
    ("a run folder that is a file", "python train.py hydra.run.dir=file", None),
    ("a run folder under a file", "python train.py hydra.run.dir=file/run", None),
    ("a run folder under /proc", "python train.py hydra.run.dir=/proc/makemore", None),
    ("a run folder's name too long", f"python train.py hydra.run.dir={LONG}", None),
    ("a read-only file system", f"python train.py hydra.run.dir=ro/run {FAST}", None),
    ("a disk that fills up", f"python train.py hydra.run.dir=full/run {FAST} context=2", None),
    ("a reader that stops reading (`\\| head -2`)", f"python train.py {FAST}", head_2),
    ("a checkpoint that would run code when loaded", "python -m makemore.sample checkpoint=evil.pt", None),
    ("a truncated checkpoint", "python -m makemore.sample checkpoint=truncated.pt", None),
    ("a file that is not a checkpoint", "python -m makemore.sample checkpoint=garbage.pt", None),
    ("a checkpoint, but not makemore's", "python -m makemore.sample checkpoint=other.pt", None),
    ("one job of a sweep fails", f"python train.py -m hydra.sweep.dir=sweep {FAST} smoothing=1,-1", None),
    (
        "a sweep's jobs given one folder",
        f"python train.py -m hydra.sweep.dir=shared hydra.sweep.subdir=same {FAST} seed=1,2",
        None,
    ),
    (
        "a sweep's job folder outside the sweep folder",
        f"python train.py -m hydra.sweep.dir=deep/sweep hydra.sweep.subdir=.. {FAST} seed=1,2",
        None,
    ),
    (
        "the same sweep again, into its folder",
        f"python train.py -m hydra.sweep.dir=sweep {FAST} smoothing=1,-1",
        None,
    ),
    (
        "a trial of an Optuna search fails (the study goes on)",
        "python train.py hparams_search=neural_optuna "
        f"'lr=choice(1000000,10)' hydra.sweeper.n_trials=4 hydra.sweep.dir=study {FAST} steps=20",
        None,
    ),
    (
        "every trial of an Optuna search fails",
        "python train.py hparams_search=counts_optuna "
        "hydra.sweeper.n_trials=2 hydra.sweep.dir=study2 data.path=missing.txt",
        None,
    ),
]


def shown(code, stdout, stderr, tmp):
    """What the user sees of a case: stderr's lines (but Optuna's progress); of a run that goes on, also the
    warnings and failed trials in its log, else the last line it printed."""
    stdout, stderr = (re.sub(r"\x1b\[[0-9;]*m", "", text) for text in (stdout, stderr))  # no terminal colours
    lines = [line for line in stderr.splitlines() if not re.match(r"\[[IW] \d{4}-", line)]
    if code == 0:
        lines += [
            re.sub(r"^\[[^]]*\]", "", line)
            for line in stdout.splitlines()
            if "[WARNING] - " in line or "Failed experiment" in line
        ] or stdout.splitlines()[-1:]
    lines = [
        line.replace(str(tmp) + "/", "").replace(str(tmp), ".") for line in lines or ["nothing on stderr"]
    ]
    text = "<br>".join(f"`` {line} ``" if "`" in line else f"`{line}`" for line in lines)
    return text.replace(LONG, "x" * 20 + "...").replace("|", "\\|")


def case(command, act, tmp):
    """The exit code of the command as typed in the folder, and what it showed."""
    disk = re.search(r"hydra.run.dir=(ro|full)/", command)
    if disk and not os.path.ismount(tmp / disk[1]):
        return "", "not run here: mounting a tmpfs needs root"
    if (
        "optuna" in command
        and subprocess.run(
            [sys.executable, "-c", "import hydra_plugins.hydra_optuna_sweeper"], capture_output=True
        ).returncode
    ):
        return "", "not run here: the optuna extra is not installed"
    proc = start(command, tmp)
    try:
        done = act(proc, command, tmp) if act else None  # (exit code, stdout, stderr) of what it ran instead
        code, out, err = done or (None, *proc.communicate(timeout=300))
    except subprocess.TimeoutExpired:
        proc.kill()
        return "", "no answer in 300 s"
    code = proc.returncode if code is None else code
    return str(code), shown(code, out, err, tmp)


def main():
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        try:
            setup(tmp)
            for what, command, act in CASES:
                code, text = case(command, act, tmp)
                print(f"{code:>3} {command[:60]}: {text[:120]}", flush=True)
                rows.append(
                    f"| {what} | `{command.replace(LONG, 'x' * 20 + '...(300 x)')}` | {code} | {text} |"
                )
        finally:
            for name in ("ro", "full"):
                if os.path.ismount(tmp / name):
                    subprocess.run(["umount", str(tmp / name)], check=True)
    DOC.write_text(
        f"{INTRO}\nRun on {datetime.date.today()}.\n\n| what you did | command | exit | what you see |\n"
        "|---|---|---|---|\n" + "\n".join(rows) + "\n\n" + OUTRO
    )


if __name__ == "__main__":
    main()
