"""The score stage: per-image Jaccard and Hausdorff of a fit's stored test predictions.

Run as ``python -m lrnbook.score SPEC.json`` (:mod:`lrnbook.runner`) with
``{"settings": {"protocol", "split_seed"}, "folder": "<profile>/results/<name>"}``. Reads ``predictions.npz`` (or ``not_run.json``)
and writes ``test_per_image.csv`` and ``test_summary.json``; the truth masks are the test
split of the same protocol and seed at 224x224.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from lrn import data, evaluate, predict, provenance
from lrn.shapes import EVAL_SIZE
from lrnbook import runner


def run(settings: dict, folder: Path) -> dict:
    """Score one fit's predictions in ``folder``; returns the summary written."""
    not_run = folder / "not_run.json"
    if not_run.is_file():
        summary = json.loads(not_run.read_text())
        (folder / "test_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        (folder / "test_per_image.csv").unlink(missing_ok=True)
        return summary
    ids, levels = predict.load_predictions(folder / "predictions.npz")
    test = data.eg1800(protocol=settings["protocol"], size=EVAL_SIZE, seed=settings["split_seed"], progress=False).test
    if list(test.ids) != ids:
        raise ValueError(f"{folder}/predictions.npz holds other images than the test split it is scored on")
    table = evaluate.score_levels(ids, levels, test.masks)
    _, fit_record = provenance.read_csv(folder / "history.csv")
    return evaluate.save_scores(table, folder, fit_record)


if __name__ == "__main__":
    sys.exit(runner.main(lambda spec: run(spec["settings"], Path(spec["folder"]))))
