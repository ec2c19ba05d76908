"""The lecture's picture: a model's 27x27 table as a heatmap, each cell labelled with its bigram and value."""

import numpy as np


def heatmap(table, itos, fmt):
    """The picture of `table` (V x V) as an RGB array: cell (i, j) labelled itos[i] + itos[j] and fmt(value)."""
    import matplotlib  # here, not at start-up: it costs more to import than a whole bigram run

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    V = len(itos)
    fig, ax = plt.subplots(figsize=(V * 0.6, V * 0.6), dpi=72)
    ax.imshow(table, cmap="Blues")
    for i in range(V):
        for j in range(V):
            ax.text(j, i, itos[i] + itos[j], ha="center", va="bottom", color="gray", fontsize=7)
            ax.text(j, i, fmt.format(table[i, j].item()), ha="center", va="top", color="gray", fontsize=7)
    ax.axis("off")
    fig.tight_layout()
    fig.canvas.draw()  # rendered once, for the PNG and for TensorBoard alike
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return rgb


def save_png(rgb, path):
    import matplotlib.pyplot as plt

    plt.imsave(path, rgb)
