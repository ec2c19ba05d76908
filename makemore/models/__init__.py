"""Models: each assigns every context a distribution over the next token.

Both models are tables of shape (V**context, V), so training, evaluation, sampling and scoring
work on any of them through the same few methods; a new model is one file here and one config.
"""

from makemore.models.base import LanguageModel, Stats
from makemore.models.counts import Counts
from makemore.models.neural import Neural

MODELS = {"counts": Counts, "neural": Neural}  # the only classes a checkpoint may name

__all__ = ["LanguageModel", "Stats", "Counts", "Neural", "MODELS"]
