"""The lecture's picture: a model's 27x27 table as a heatmap, each cell labelled with its bigram and value.

Drawn with Pillow rather than matplotlib: matplotlib's import and text layout of 729 labelled cells cost more
than a whole bigram run.
"""

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

CELL = 44  # pixels a side
WHITE, BLUE = np.array([247, 251, 255]), np.array([8, 48, 107])  # the ends of matplotlib's "Blues"
GRAY, LIGHT = (96, 96, 96), (255, 255, 255)  # labels on light cells, and on dark ones
DARK = 0.5  # a cell's shade from which its label is light


def heatmap(table, itos, fmt):
    """The picture of `table` (V x V) as a PIL image: cell (i, j) labelled itos[i] + itos[j] and its value."""
    table = np.asarray(table, dtype=np.float64)
    # A cell past float's range (the neural model's W.exp() where W > 88) is inf: the darkest, labelled inf;
    # the others are shaded against the largest finite one.
    top = table[np.isfinite(table)].max(initial=0.0)
    shade = np.where(np.isinf(table), 1.0, table / top if top > 0 else table)
    colours = (WHITE + (BLUE - WHITE) * shade[..., None]).astype(np.uint8)
    # each cell a block of CELL x CELL pixels of its colour
    image = Image.fromarray(colours).resize(
        (len(table[0]) * CELL, len(table) * CELL), Image.Resampling.NEAREST
    )
    draw, font = ImageDraw.Draw(image), ImageFont.load_default(size=11)
    for i, row in enumerate(table):
        for j, value in enumerate(row):
            x, y, fill = (j + 0.5) * CELL, (i + 0.5) * CELL, LIGHT if shade[i, j] >= DARK else GRAY
            draw.text((x, y), itos[i] + itos[j], fill=fill, font=font, anchor="md")
            draw.text((x, y + 1), fmt.format(value), fill=fill, font=font, anchor="ma")
    return image


def png(image):
    """The image encoded once, for the run folder and TensorBoard alike (fast compression: it is large)."""
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()
