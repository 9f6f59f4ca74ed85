"""The fit stage: train a variant (or reuse its cached model) and store its test predictions.

Run as ``python -m lrnbook.fit SPEC.json``, one process per fit (a fresh TensorFlow each
time, as a reader's own run would have). ``SPEC.json`` holds::

    {"settings": {"variant": ..., "protocol": ..., "split_seed": ..., "config": {TrainConfig fields}},
     "model_dir": "<cache>/models/<model key>", "out_dir": "notebooks/runs/<profile>/results/<name>"}

Outputs in ``out_dir``: ``predictions.npz`` (every level on the test split,
:func:`lrn.predict.save_predictions`) and ``history.csv`` (per-epoch losses, provenance);
or ``not_run.json`` when the variant cannot be trained here (no ImageNet weights). The
trained model stays in ``model_dir``: when ``model_dir/model.keras`` exists it is used and
nothing is trained. Outputs are written only once everything is done.
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from lrn import data, fit, models, predict, provenance, train
from lrn.errors import InputError


def unavailable_reason(config: train.TrainConfig) -> str | None:
    """Why ``config`` cannot be trained here (``None`` if it can): a -VGG run without its weights."""
    if config.schedule != "vgg":
        return None
    try:
        models.reference_vgg16(config.encoder_weights, (32, 32, 3))
    except InputError as error:
        return str(error)
    return None


def run(settings: dict, model_dir: Path, out_dir: Path) -> list[Path]:
    """Execute one fit; returns the output files written into ``out_dir``."""
    config = train.TrainConfig(**settings["config"])
    protocol, split_seed = settings["protocol"], settings["split_seed"]
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent) as tmp:
        staged = Path(tmp)
        reason = unavailable_reason(config)
        if reason is not None:
            (staged / "not_run.json").write_text(json.dumps({"status": "not run", "reason": reason}, indent=2) + "\n")
        else:
            saved = model_dir / "model.keras"
            if saved.is_file():
                print(f"[lrnbook.fit] using the cached model {saved}", file=sys.stderr, flush=True)
                model = models.load(saved)
                test = data.eg1800(protocol=protocol, size=config.size, seed=split_seed).test
                ids, levels = list(test.ids), predict.predict_levels(model, test.images)
            else:
                result = fit.fit(config, model_dir, protocol=protocol, seed=split_seed, verbose=2)
                ids, levels = result.test_ids, result.levels
            predict.save_predictions(staged / "predictions.npz", ids, levels)
            history, record = provenance.read_csv(model_dir / "history.csv")
            provenance.write_csv(history, staged / "history.csv", {**record, "test_ids": ids})
        out_dir.mkdir(exist_ok=True)
        for stale in ("predictions.npz", "history.csv", "not_run.json"):
            (out_dir / stale).unlink(missing_ok=True)
        written = []
        for path in sorted(staged.iterdir()):
            written.append(Path(shutil.move(path, out_dir / path.name)))
    return written


def main(argv=None) -> int:
    spec = json.loads(Path((argv or sys.argv[1:])[0]).read_text())
    run(spec["settings"], Path(spec["model_dir"]), Path(spec["out_dir"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
