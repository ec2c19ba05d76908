"""Makes docs/diagnostics.png, the README's picture of `diagnostics=true`: a short run of makemore part 3's
deeper MLP (four BatchNorm tanh layers, trained as the lecture does), TensorBoard on it, and headless
Chromium's screenshots of its Custom Scalars, Histograms and Projector tabs, cut into one picture.

    python docs/diagnostics.py        # needs Chromium (Debian: apt-get install chromium)
"""

import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PORT = 6010
# the lecture's deeper net as it trains it: SGD at lr 0.1 on batches of 32
RUN = [
    *("model=mlp", "model.batchnorm=true", "model.n_layer=4", "diagnostics=true"),
    *("optimizer=sgd", "scheduler=constant", "lr=0.1", "batch_size=32", "steps=3000", "eval_interval=100"),
    "sample.count=0",
]
# Where TensorBoard draws what we show, in a window of 1600 x 1000: the four charts of Custom Scalars, and the
# first two histograms (a tanh layer's gradient and output), pasted beside the fourth chart, where there is
# room; the projector's view of the 27 character embeddings, on the right.
CHARTS, HISTOGRAMS, BESIDE = (368, 132, 1428, 691), (368, 180, 1048, 395), (370, 330)
PROJECTOR = (313, 70, 1300, 1000)


def screenshot(tab, path):
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--enable-unsafe-swiftshader",  # the projector draws with WebGL: on the CPU here
            "--use-angle=swiftshader",
            "--hide-scrollbars",
            "--window-size=1600,1000",
            "--virtual-time-budget=15000",  # time for the charts to load and draw
            f"--screenshot={path}",
            f"http://localhost:{PORT}/?darkMode=false#{tab}",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return Image.open(path).convert("RGB")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "train.py", *RUN, f"hydra.run.dir={tmp}/mlp_batchnorm"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        board = subprocess.Popen(
            [sys.executable, "-m", "tensorboard.main", "--logdir", tmp, "--port", str(PORT)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(120):
                try:
                    urllib.request.urlopen(f"http://localhost:{PORT}", timeout=1)
                    break
                except OSError:
                    time.sleep(0.5)
            charts = screenshot("custom_scalars", f"{tmp}/charts.png").crop(CHARTS)
            histograms = screenshot("histograms", f"{tmp}/histograms.png").crop(HISTOGRAMS)
            projector = screenshot("projector", f"{tmp}/projector.png").crop(PROJECTOR)
        finally:
            board.terminate()
            board.wait()
    charts.paste(histograms, BESIDE)
    projector = projector.resize((projector.width * charts.height // projector.height, charts.height))
    picture = Image.new("RGB", (charts.width + projector.width, charts.height), "white")
    picture.paste(charts, (0, 0))
    picture.paste(projector, (charts.width, 0))
    picture.quantize(colors=128).save(ROOT / "docs" / "diagnostics.png", optimize=True)


if __name__ == "__main__":
    main()
