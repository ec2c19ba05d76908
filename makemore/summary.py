"""After a sweep: one row per job (its overrides and final NLLs) in summary.csv and summary.png.

Registered as a Hydra callback in conf/config.yaml. The summary is rewritten as each job ends, so it
exists even when a failed job makes Hydra stop the sweep with an error; `python -m makemore.summary
<sweep folder>` writes it again by hand.
"""

import csv
import json
import math
import sys
from pathlib import Path

from hydra.core.utils import JobStatus
from hydra.experimental.callback import Callback
from omegaconf import OmegaConf

from makemore.checkpoint import replace

METRICS = ("train_nll", "val_nll", "test_nll", "seconds")


def job_row(folder):
    """A job's overrides and metrics, or its error where it failed."""
    overrides = OmegaConf.load(folder / ".hydra" / "overrides.yaml")
    row = dict(o.lstrip("+~").split("=", 1) for o in overrides if "=" in o)
    row.setdefault("model", OmegaConf.load(folder / ".hydra" / "hydra.yaml").hydra.runtime.choices.model)
    metrics_file, error_file = folder / "metrics.json", folder / "error.txt"
    if metrics_file.exists():
        metrics = json.loads(metrics_file.read_text())
        row |= {k: metrics[k] for k in METRICS} | {"status": "ok"}
    else:
        reason = error_file.read_text().strip() if error_file.exists() else "did not finish"
        row |= {k: None for k in METRICS} | {"status": f"failed: {reason}"}
    return row | {"folder": folder.name}


def collect(sweep_dir):
    """Rows for every job folder of a sweep, best validation NLL first (failed jobs last)."""
    folders = [p.parent.parent for p in Path(sweep_dir).glob("*/.hydra/overrides.yaml")]
    rows = [job_row(f) for f in folders]
    key = lambda r: (r["val_nll"] is None, math.inf if r["val_nll"] is None else r["val_nll"], r["folder"])
    return sorted(rows, key=key)


def columns(rows, varying=False):
    """The override keys (only those whose value differs between jobs, and the model, if `varying`),
    then the metrics."""
    keys = sorted({k for r in rows for k in r} - set(METRICS) - {"status", "folder"})
    if varying:
        keys = [k for k in keys if k == "model" or len({str(r.get(k)) for r in rows}) > 1]
    return keys + list(METRICS) + ["status", "folder"]


def write_csv(rows, path):
    def write(tmp):
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns(rows))
            writer.writeheader()
            writer.writerows(rows)

    replace(path, write)  # jobs that end at once rewrite it in turn, never into each other


def table(rows):
    """The rows as a markdown table, the best run marked with *."""
    cols = columns(rows, varying=True)
    fmt = lambda v: "" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v)
    lines = ["| | " + " | ".join(cols) + " |", "|" + "---|" * (len(cols) + 1)]
    for i, r in enumerate(rows):
        best = "*" if i == 0 and r["status"] == "ok" else ""
        lines.append(f"| {best} | " + " | ".join(fmt(r.get(c)) for c in cols) + " |")
    return "\n".join(lines)


def plot(rows, path):
    """val_nll against each swept numeric key, one line per model (the best over the other keys)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if r["status"] == "ok" and r["val_nll"] is not None and math.isfinite(r["val_nll"])]
    numeric = [k for k in columns(rows, varying=True)[: -len(METRICS) - 2] if k != "model" and _all_numbers(ok, k)]
    if not numeric:
        return False
    fig, axes = plt.subplots(1, len(numeric), figsize=(5 * len(numeric), 4), squeeze=False)
    for ax, key in zip(axes[0], numeric):
        for model in sorted({r["model"] for r in ok}):
            best = {}
            for r in ok:
                if r["model"] == model:
                    x = float(r[key])
                    best[x] = min(best.get(x, math.inf), r["val_nll"])
            ax.plot(*zip(*sorted(best.items())), marker="o", label=model)
        xs = [float(r[key]) for r in ok]
        if min(xs) > 0 and max(xs) / min(xs) >= 100:
            ax.set_xscale("log")
        ax.set_xlabel(key)
        ax.set_ylabel("val_nll (best over the other keys)" if len(numeric) > 1 else "val_nll")
        ax.legend(title="model")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _all_numbers(rows, key):
    try:
        return len({float(r[key]) for r in rows}) > 1
    except (KeyError, TypeError, ValueError):
        return False


def write(sweep_dir, final=False):
    rows = collect(sweep_dir)
    if rows:
        write_csv(rows, Path(sweep_dir) / "summary.csv")
        if final:
            plot(rows, Path(sweep_dir) / "summary.png")
            print(table(rows))
    return rows


class Summary(Callback):
    """Hydra callback: record a failed job's error, rewrite the summary after each job and at the end."""

    def on_job_end(self, config, job_return, **kwargs):
        if config.hydra.mode.name != "MULTIRUN":
            return
        folder = Path(config.hydra.runtime.output_dir)
        if job_return.status == JobStatus.FAILED:
            error = job_return._return_value
            (folder / "error.txt").write_text(f"{type(error).__name__}: {error}".splitlines()[0] + "\n")
        write(folder.parent)

    def on_multirun_end(self, config, **kwargs):
        write(config.hydra.sweep.dir, final=True)


if __name__ == "__main__":
    write(sys.argv[1], final=True)
