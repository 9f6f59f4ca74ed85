"""The model shipped inside the package: an LRN trained on all of EG1800's training photos.

``lrn.pretrained()`` loads it; ``lrn whiten PHOTO`` uses it when no ``--model`` is given, so
the cut-out works right after ``pip install`` with no training. ``make model`` retrains it
(:data:`TRAIN_CONFIG`, about 30 minutes on 2 CPU cores) and installs the result here with
``python -m lrn.shipped install RUN_DIR``, which checks the file (loads safely, is an LRN,
at most :data:`MAX_BYTES`) and writes the model card's facts next to it
(``lrn/pretrained/<name>.json``). The book's model-card page scores it.

Terms: the code is MIT-licensed, but the model is trained on EG1800, whose photos are
distributed "for academic exchange only"; the model inherits that restriction
(:data:`TERMS`). It is not for commercial use.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from lrn.cache import sha256_file
from lrn.errors import InputError

FOLDER = Path(__file__).resolve().parent / "pretrained"
NAME = "lrn_eg1800_w0.25_224"
MODEL_FILE = FOLDER / f"{NAME}.keras"
CARD_FILE = FOLDER / f"{NAME}.json"
TFLITE_FILE = FOLDER / f"{NAME}.tflite"
"""The same model converted for the LiteRT interpreter (``lrn whiten`` runs it without
importing TensorFlow); ``<name>.tflite.sha256`` records the ``.keras`` file it was made from."""
MAX_BYTES = 15 * 1024 * 1024
"""Largest model file kept inside the package (15 MiB), so that ``pip install`` stays small."""

TRAIN_CONFIG = {"variant": "lrn", "size": 224, "width": 0.25, "learning_rate": 1e-3, "epochs": 24, "patience": 6,
                "seed": 0}
PROTOCOL = "full"
"""The shipped model's training (``make model``), as :class:`lrn.train.TrainConfig` fields and the
EG1800 protocol: the cpu profile's settings (width 0.25, Adam 1e-3 chosen on the validation
split, 224x224) on the ``full`` protocol (every usable official training id but a 10 %
validation hold-out)."""

TERMS = ("Trained on EG1800 (Shen et al., 2016), whose photos are distributed for academic exchange "
         "only: this model inherits that restriction and is not for commercial use. The lrn code is "
         "MIT-licensed.")


def pretrained(safe_mode: bool = True):
    """The shipped LRN as a ``keras.Model`` (input 224x224x3 uint8-range floats, outputs s1..s6).

    Use it with :func:`lrn.segment` (``lrn.segment(lrn.pretrained(), photo)``). See
    :data:`TERMS` for what the model may be used for.

    Raises
    ------
    lrn.errors.InputError
        If the package was installed without the model file (``make model`` writes it).
    """
    from lrn import models

    if not MODEL_FILE.is_file():
        raise InputError(f"the shipped model {MODEL_FILE} is missing from this installation; "
                         "`make model` trains and installs it, or pass a model file (lrn whiten --model)")
    return models.load(MODEL_FILE, safe_mode=safe_mode)


def convert() -> Path:
    """Write :data:`TFLITE_FILE` from :data:`MODEL_FILE`, checked against Keras, with its record.

    Raises ``InputError`` when the converted model's finest map differs from Keras' by more
    than :data:`lrn.fastforward.TOLERANCE`.
    """
    from lrn import fastforward

    model = pretrained()
    content = fastforward.convert(model)
    difference = fastforward.check(fastforward.LiteForward(content), model)
    if not difference <= fastforward.TOLERANCE:
        raise InputError(f"the converted shipped model differs from Keras by {difference:.2g}")
    TFLITE_FILE.write_bytes(content)
    TFLITE_FILE.with_name(TFLITE_FILE.name + ".sha256").write_text(f"{sha256_file(MODEL_FILE)}  {MODEL_FILE.name}\n")
    return TFLITE_FILE


def card() -> dict:
    """Facts about the shipped model written at install time: settings, data, training time, terms."""
    if not CARD_FILE.is_file():
        raise InputError(f"the shipped model's card {CARD_FILE} is missing; `make model` writes it")
    return json.loads(CARD_FILE.read_text())


def install(run_dir, train_seconds: float | None = None, note: str = "") -> Path:
    """Check ``run_dir/model.keras`` (written by ``lrn train``) and install it as the shipped model.

    The card (``lrn/pretrained/<name>.json``) records the model's provenance (settings, data
    ids, commit), its size, the training time in seconds if given, and :data:`TERMS`.
    """
    import keras

    from lrn import models, provenance

    source = Path(run_dir) / "model.keras"
    if not source.is_file():
        raise InputError(f"no trained model at {source}: run `python -m lrn.shipped train {run_dir}` first")
    model = models.load(source)  # safe mode: a shipped file must not carry code
    if not models.is_lrn(model):
        raise InputError(f"{source} is not an LRN (it has {len(model.outputs)} outputs, LRN has 6)")
    record = provenance.read_model_provenance(source)
    history_path = Path(run_dir) / "history.csv"
    history = provenance.read_csv(history_path)[0].to_dict("list") if history_path.is_file() else None
    # Ship the weights without the optimizer's state (Adam keeps two more copies of every weight).
    bare = keras.saving.load_model(source, compile=False, safe_mode=True)  # uncompiled: no optimizer to save
    with tempfile.TemporaryDirectory() as tmp:
        staged = provenance.save_model(bare, Path(tmp) / MODEL_FILE.name, record)
        size = staged.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"{source} makes a {size / 2**20:.1f} MiB file, over the {MAX_BYTES / 2**20:.0f} MiB "
                             "allowed inside the package: train a narrower model (--width)")
        FOLDER.mkdir(exist_ok=True)
        shutil.copy2(staged, MODEL_FILE)
    facts = {"name": NAME, "file": MODEL_FILE.name, "bytes": size, "parameters": int(model.count_params()),
             "input": list(model.input.shape[1:]), "train_command": f"python -m lrn.shipped train (TrainConfig {TRAIN_CONFIG}, protocol {PROTOCOL})",
             "train_seconds": train_seconds, "cpus": os.cpu_count(), "note": note, "history": history, "terms": TERMS, "provenance": record}
    CARD_FILE.write_text(json.dumps(facts, indent=1, sort_keys=True) + "\n")
    convert()
    return MODEL_FILE


def train_and_install(run_dir) -> Path:
    """``make model``: train :data:`TRAIN_CONFIG` into ``run_dir``, time it, install the result."""
    from lrn import fit, train

    start = time.perf_counter()
    fit.fit(train.TrainConfig(**TRAIN_CONFIG), run_dir, protocol=PROTOCOL, seed=TRAIN_CONFIG["seed"])
    return install(run_dir, train_seconds=time.perf_counter() - start)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lrn.shipped", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train the shipped model and install it (make model)")
    train.add_argument("run_dir", type=Path)
    install_cmd = commands.add_parser("install", help="install RUN_DIR/model.keras as the shipped model")
    install_cmd.add_argument("run_dir", type=Path)
    install_cmd.add_argument("--train-seconds", type=float, default=None)
    install_cmd.add_argument("--note", default="")
    commands.add_parser("convert", help="write the shipped model's .tflite (lrn whiten runs it without TensorFlow)")
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            path = train_and_install(args.run_dir)
        elif args.command == "convert":
            path = convert()
        else:
            path = install(args.run_dir, args.train_seconds, args.note)
    except InputError as error:
        print(f"lrn.shipped: error: {error}", file=sys.stderr)
        return 2
    print(f"installed {path} ({path.stat().st_size / 2**20:.1f} MiB); card {CARD_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
