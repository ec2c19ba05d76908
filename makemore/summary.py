"""After a sweep: one row per job (its overrides and final NLLs) in summary.csv and summary.png.

Registered as a Hydra callback in conf/config.yaml. The summary is rewritten as each job ends, so it
exists even when a failed job makes Hydra stop the sweep with an error; `python -m makemore.summary
<sweep folder>` writes it again by hand.

A sweep run into a folder that holds an earlier one must summarize its own jobs only, with what they did: so
the callback gives each sweep run an id (in the sweep folder's RUN_FILE) and records each job's id and status
(in the job folder's STATUS_FILE), and the summary takes the jobs of the latest run. A folder without the
records (a sweep made without this callback) is summarized from what its job folders hold.
"""

import csv
import hashlib
import json
import math
import sys
import uuid
from pathlib import Path

import yaml
from hydra.core.utils import JobStatus
from hydra.experimental.callback import Callback

from makemore import MakemoreError, signals
from makemore.config import sweeping
from makemore.files import replace
from makemore.terminal import show

METRICS = ("train_nll", "val_nll", "test_nll", "seconds")
RUN_FILE = ".sweep_run"  # in the sweep folder: the id of the latest sweep run into it
STATUS_FILE = "status.json"  # in a job folder: {"sweep_run": id, "status": "running" | "ok" | "failed: ..."}
PARSERS = {".json": ("JSON", json.loads), ".yaml": ("YAML", yaml.safe_load)}


class Unreadable(Exception):
    """A job's file that is missing or not what it should be; the job's row says which and why."""


def read(folder, name):
    """A job's JSON or YAML file, parsed."""
    kind, parse = PARSERS[Path(name).suffix]
    try:
        return parse((folder / name).read_text())
    except FileNotFoundError:
        raise Unreadable(f"{name} is missing") from None
    except UnicodeDecodeError:
        raise Unreadable(f"{name} is not UTF-8 text") from None
    except OSError as e:
        raise Unreadable(f"{name} cannot be read: {e.strerror}") from None
    except (ValueError, yaml.YAMLError):
        raise Unreadable(f"{name} is not valid {kind}") from None


def overrides(folder):
    found = read(folder, ".hydra/overrides.yaml")
    if not isinstance(found, list) or not all(isinstance(o, str) for o in found):
        raise Unreadable(".hydra/overrides.yaml is not a list of overrides")
    pairs = (o.lstrip("+~").split("=", 1) for o in found if "=" in o)
    return {
        key: value for key, value in pairs if key != "resume"
    }  # a job resumed by hand: still the same job


def model(folder):
    try:
        return str(read(folder, ".hydra/hydra.yaml")["hydra"]["runtime"]["choices"]["model"])
    except (KeyError, TypeError):
        raise Unreadable(".hydra/hydra.yaml does not name the model") from None


def metrics(folder):
    found = read(folder, "metrics.json")
    if not isinstance(found, dict):
        raise Unreadable("metrics.json does not hold an object")
    for key in METRICS:
        if key not in found:
            raise Unreadable(f"metrics.json has no {key}")
        value = found[key]
        if value is not None and (type(value) not in (int, float) or math.isnan(value)):
            raise Unreadable(f"metrics.json: {key} is {json.dumps(value)}, not a number")
    ignored = found.get("not_applying", [])
    if not isinstance(ignored, list) or not all(isinstance(k, str) for k in ignored):
        raise Unreadable("metrics.json: not_applying is not a list of keys")
    return {k: found[k] for k in METRICS} | {"not_applying": ignored}


def record(folder):
    """(sweep run, status) from the job's STATUS_FILE; (None, None) where it has none."""
    if not (folder / STATUS_FILE).exists():
        return None, None
    try:
        found = read(folder, STATUS_FILE)
        return found["sweep_run"], str(found["status"])
    except Unreadable as e:
        return None, f"failed: {e}"
    except (KeyError, TypeError):
        return None, f"failed: {STATUS_FILE} is not a job's status"


def result(folder, status):
    """The job's metrics and status. Without a status of its own, or while it is "running" (as it stays when a
    signal stopped the sweep), the folder's metrics.json decides: the job finished, or was resumed by hand."""
    if status is not None and status.startswith("failed"):
        return dict.fromkeys(METRICS) | {"status": status}
    if status == "ok" or (folder / "metrics.json").exists():
        return metrics(folder) | {"status": "ok"}
    return dict.fromkeys(METRICS) | {"status": "did not finish"}


def job_row(folder, status):
    """A job's overrides and metrics, or why it has none."""
    row = {}
    try:
        row |= overrides(folder)
        if "model" not in row:  # not swept: the config's default, as Hydra chose it
            row["model"] = model(folder)
        row |= result(folder, status)
        # a key its model does not use changed nothing
        for key in set(row.pop("not_applying", [])) & set(row):
            row[key] = None
    except Unreadable as e:
        row |= dict.fromkeys(METRICS) | {"status": f"failed: {e}"}
    return row | {"folder": folder.name}


def latest_run(sweep_dir):
    """The id of the latest sweep run into the folder; None where there is none to read (take every job)."""
    try:
        return (Path(sweep_dir) / RUN_FILE).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def collect(sweep_dir):
    """Rows for the job folders of the latest sweep run into `sweep_dir`, best validation NLL first (failed
    jobs last). A job with an unreadable status is shown, not left out: which run it belongs to is unknown."""
    latest = latest_run(sweep_dir)
    rows = []
    for path in Path(sweep_dir).glob("*/.hydra/overrides.yaml"):
        run, status, row = _read_job(path.parent.parent)
        if latest is None or run == latest or (run is None and status is not None):
            rows.append(row)
    return sorted(
        rows,
        key=lambda r: (r["val_nll"] is None, math.inf if r["val_nll"] is None else r["val_nll"], r["folder"]),
    )


# folder: (a digest of its files, what was parsed from them), so that each job's files are parsed once
_jobs = {}


def _read_job(folder):
    """(sweep run, status, row) of a job folder, parsed again only where the bytes of one of its files have
    changed: the summary is rewritten after every job, and parsing every job's YAML each time would make a
    sweep quadratic."""
    stamp = hashlib.sha1()
    for name in (STATUS_FILE, ".hydra/overrides.yaml", ".hydra/hydra.yaml", "metrics.json"):
        try:
            stamp.update((folder / name).read_bytes())
        except OSError as e:
            stamp.update(f"{type(e).__name__}".encode())
        stamp.update(b"\0")
    stamp = stamp.digest()
    if folder not in _jobs or _jobs[folder][0] != stamp:
        run, status = record(folder)
        _jobs[folder] = stamp, (run, status, job_row(folder, status))
    return _jobs[folder][1]


def columns(rows, varying=False):
    """The override keys (only those whose value differs between jobs, and the model, if `varying`),
    then the metrics."""
    keys = sorted({k for r in rows for k in r} - set(METRICS) - {"status", "folder"})
    if varying:
        keys = [k for k in keys if k == "model" or len({str(r.get(k)) for r in rows}) > 1]
    return keys + list(METRICS) + ["status", "folder"]


def swept(rows):
    """The override keys whose value differs between jobs, the model first."""
    return sorted(columns(rows, varying=True)[: -len(METRICS) - 2], key=lambda k: k != "model")


def write_csv(rows, path):
    def write(tmp):
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns(rows))
            writer.writeheader()
            writer.writerows(rows)

    replace(path, write)  # jobs that end at once rewrite it in turn, never into each other


def _cell(value):
    return "" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def table(rows):
    """The rows as a markdown table, the best run marked with *."""
    cols = columns(rows, varying=True)
    lines = ["| | " + " | ".join(cols) + " |", "|" + "---|" * (len(cols) + 1)]
    for i, r in enumerate(rows):
        best = "*" if i == 0 and r["status"] == "ok" else ""
        lines.append(f"| {best} | " + " | ".join(_cell(r.get(c)) for c in cols) + " |")
    return "\n".join(lines)


def plot(rows, path):
    """Save the figure of the rows to `path`, if they hold a result; return whether they did."""
    fig = figure(rows)
    if fig is None:
        Path(path).unlink(missing_ok=True)  # an earlier picture would show results these rows no longer have
        return False
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def figure(rows):
    """val_nll against each swept numeric key, one line per model (the best over the other keys); where no
    numeric key varies, one point per job. None where no job has a val_nll."""
    results = [r for r in rows if r["status"] == "ok" and r["val_nll"] is not None]
    if not results:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    numeric = [k for k in swept(results) if k != "model" and _numbers(results, k)]
    fig, axes = plt.subplots(1, max(len(numeric), 1), figsize=(5 * max(len(numeric), 1), 4), squeeze=False)
    for ax in axes[0]:
        ax.margins(y=0.1)  # room between the highest point and the inf markers on the top edge
    for ax, key in zip(axes[0], numeric):
        _against(ax, results, key)
        ax.set_ylabel("val_nll (best over the other keys)" if len(numeric) > 1 else "val_nll")
    if not numeric:
        _per_job(axes[0][0], results)
    fig.tight_layout()
    return fig


def _numbers(rows, key):
    """The key's values as numbers (ints where every one is whole), or None if some are not numbers."""
    try:
        values = [float(r[key]) for r in rows]
    except (KeyError, TypeError, ValueError):
        return None
    if len(set(values)) < 2 or not all(math.isfinite(v) for v in values):
        return None
    return [int(v) for v in values] if all(v.is_integer() for v in values) else values


def _against(ax, rows, key):
    from matplotlib.ticker import MaxNLocator

    xs = _numbers(rows, key)
    for name in sorted({r["model"] for r in rows}):
        best = {}
        for x, r in zip(xs, rows):
            if r["model"] == name:
                best[x] = min(best.get(x, math.inf), r["val_nll"])
        finite = sorted((x, y) for x, y in best.items() if math.isfinite(y))
        (line,) = ax.plot(*zip(*finite) if finite else ([], []), marker="o", label=name)
        _mark_infinite(ax, [x for x, y in best.items() if math.isinf(y)], line.get_color())
    _scale(ax, xs)
    if all(isinstance(x, int) for x in xs) and ax.get_xscale() == "linear":
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # seed=1,2,3: not 1.5, 2.5
    ax.set_xlabel(key)
    ax.legend(title="model")


def _scale(ax, xs):
    """Log where the positive values span 100x or more; symlog if 0 is among them, so that it is shown."""
    positive = [x for x in xs if x > 0]
    if min(xs) < 0 or not positive or max(positive) / min(positive) < 100:
        return
    if min(xs) == 0:
        ax.set_xscale("symlog", linthresh=min(positive))
    else:
        ax.set_xscale("log")


def _per_job(ax, rows):
    """No numeric key varies (a sweep over models, say): each job's val_nll as a point, labelled with it."""
    keys = swept(rows)
    colors = {name: f"C{i}" for i, name in enumerate(sorted({r["model"] for r in rows}))}
    for i, r in enumerate(rows):
        color = colors[r["model"]]
        if math.isinf(r["val_nll"]):
            _mark_infinite(ax, [i], color)
        else:
            ax.plot(i, r["val_nll"], "o", color=color)
            ax.annotate(
                f"{r['val_nll']:.4f}",
                (i, r["val_nll"]),
                xytext=(6, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
    labels = ["\n".join(str(r.get(k)) if k == "model" else f"{k}={r.get(k)}" for k in keys) for r in rows]
    ax.set_xticks(range(len(rows)), labels, fontsize=8)
    ax.set_xlim(-0.5, len(rows) - 0.5)
    ax.set_ylabel("val_nll")


def _mark_infinite(ax, xs, color):
    """An infinite val_nll has no place on the y axis: a marker on the top edge, labelled inf."""
    top = ax.get_xaxis_transform()  # x in data, y in axes coordinates (1 = the top edge)
    for x in xs:
        ax.plot(x, 1, "^", color=color, transform=top, clip_on=False)
        ax.annotate(
            "inf",
            (x, 1),
            xycoords=top,
            xytext=(0, 5),
            textcoords="offset points",
            ha="center",
            va="bottom",
            color=color,
            fontsize=8,
        )


def write(sweep_dir, final=False):
    rows = collect(sweep_dir)
    if rows:
        write_csv(rows, Path(sweep_dir) / "summary.csv")
        if final:
            plot(rows, Path(sweep_dir) / "summary.png")
            show(table(rows))
    return rows


def _record(config, status):
    """Write the job's status in this sweep run (atomically: the summary may read it at any moment)."""
    folder = Path(config.hydra.runtime.output_dir)
    state = {"sweep_run": latest_run(config.hydra.sweep.dir), "status": status}
    replace(folder / STATUS_FILE, lambda tmp: Path(tmp).write_text(json.dumps(state) + "\n"))


class Summary(Callback):
    """Hydra callback: give the sweep run an id, record each job's status, and rewrite the summary after each
    job and at the end."""

    def on_multirun_start(self, config, **kwargs):
        sweep_dir = Path(config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        for name in ("summary.csv", "summary.png"):  # an earlier run's, which this run's jobs replace
            (sweep_dir / name).unlink(missing_ok=True)
        replace(sweep_dir / RUN_FILE, lambda tmp: Path(tmp).write_text(uuid.uuid4().hex + "\n"))

    def on_job_start(self, config, **kwargs):
        if sweeping(config):
            _record(config, "running")

    def on_job_end(self, config, job_return, **kwargs):
        if not sweeping(config):
            return
        status = "ok"
        if job_return.status == JobStatus.FAILED:
            error = job_return._return_value
            status = "failed: " + f"{type(error).__name__}: {error}".splitlines()[0]
        _record(config, status)
        write(config.hydra.sweep.dir)

    def on_multirun_end(self, config, **kwargs):
        write(config.hydra.sweep.dir, final=True)


def main(args):
    """`python -m makemore.summary <sweep folder>`: write the summary again, or say in one line why not."""
    if len(args) != 1:
        raise MakemoreError("give one sweep folder: python -m makemore.summary <sweep folder>")
    folder = Path(args[0])
    if not folder.is_dir():
        raise MakemoreError(f"{args[0]!r} " + ("is not a folder" if folder.exists() else "does not exist"))
    try:
        rows = write(folder, final=True)
    except OSError as e:
        raise MakemoreError(f"cannot write the summary into {args[0]!r}: {e.strerror}") from None
    if not rows:
        raise MakemoreError(
            f"{args[0]!r} holds no sweep jobs (folders with .hydra/overrides.yaml): "
            f"give a sweep's folder, such as runs/multirun/<date>/<time>"
        )
    failed = [row["status"].removeprefix("failed: ") for row in rows if row["status"].startswith("failed")]
    # a summary without a result: the exit status says so too
    if not any(row["status"] == "ok" for row in rows):
        what = (
            f"every job failed, the first with {failed[0]}"
            if len(failed) == len(rows)
            else f"no job finished ({len(rows) - len(failed)} did not, {len(failed)} failed)"
        )
        raise MakemoreError(f"{args[0]!r}: {what} ({folder / 'summary.csv'} has them all)")


if __name__ == "__main__":
    signals.command(main, sys.argv[1:])
