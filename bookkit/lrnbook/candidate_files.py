"""The files a cut-out candidate's fit stage writes (:mod:`lrnbook.cutoutfit`), named once.

A light module: the plan, the runner and the page all name these files, and only the runner
needs TensorFlow.
"""
from __future__ import annotations

STAGE1 = "stage1"
"""Folder of a -VGG candidate's model folder (in the cache) keeping its first-stage model and predictions."""
STAGE1_OUTPUTS = ("stage1_predictions.npz", "stage1_history.csv")
"""What a -VGG candidate writes for the model its first stage ended with (encoder frozen),
beside ``predictions.npz`` and ``history.csv``."""
STAGE1_SUFFIX = "@stage1"
"""Appended to a -VGG candidate's name for that first-stage model, a candidate of its own."""
