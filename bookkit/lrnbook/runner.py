"""What every stage runner shares: its spec, the ImageNet weights, and outputs moved in whole.

A runner is a module run as ``python -m <module> SPEC.json`` by :mod:`lrnbook.stages`, one
process per stage (a fresh TensorFlow each time, as a reader's own run would have):
:mod:`lrnbook.fit`, :mod:`lrnbook.cutoutfit`, :mod:`lrnbook.score`. :func:`main` reads the
spec and sets ``TF_ENABLE_ONEDNN_OPTS`` from the settings before anything imports
TensorFlow; :func:`staged` makes a stage's outputs appear together or not at all.

Nothing here imports TensorFlow at module level.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

TORCHVISION = "torchvision"
"""The one source of ImageNet weights the book trains from (:mod:`lrn.vgg_weights`)."""


def main(run, argv=None) -> int:
    """``python -m <runner> SPEC.json``: read the spec, set oneDNN as its settings say, ``run(spec)``."""
    spec = json.loads(Path((argv or sys.argv[1:])[0]).read_text())
    onednn = spec.get("settings", {}).get("onednn")
    if onednn is not None:  # read by TensorFlow when it is imported
        os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1" if onednn else "0"
    run(spec)
    return 0


@contextlib.contextmanager
def staged(out_dir: Path, replaces=()):
    """A temporary folder beside ``out_dir`` whose files move into ``out_dir`` when the block ends well.

    Files named in ``replaces`` are removed from ``out_dir`` first, so that a stage that now
    writes one set of outputs leaves none of another run's. On an error nothing moves.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=f".{out_dir.name}-") as tmp:
        yield Path(tmp)
        out_dir.mkdir(exist_ok=True)
        for name in replaces:
            (out_dir / name).unlink(missing_ok=True)
        for path in sorted(Path(tmp).iterdir()):
            shutil.move(path, out_dir / path.name)


def imagenet_config(settings: dict) -> dict:
    """The ``TrainConfig`` fields of ``settings``, with torchvision's VGG-16 weights when it names them.

    Fetches and converts the weights once (:func:`lrn.vgg_weights.torchvision_vgg16`) and checks
    that they come from the member the settings name. Raises :class:`lrn.errors.InputError`
    when they cannot be had here.
    """
    config = dict(settings["config"])
    encoder = settings.get("encoder")
    if not encoder:
        return config
    from lrn import vgg_weights  # its download code only for a -VGG run: lrnbook.plan imports this module

    if encoder.get("weights") != TORCHVISION or encoder.get("member_sha256") != vgg_weights.MEMBER.sha256:
        raise ValueError(f"the book trains from torchvision's weights ({vgg_weights.MEMBER.name}, sha256 "
                         f"{vgg_weights.MEMBER.sha256}); the settings ask for {encoder}")
    return {**config, "encoder_weights": str(vgg_weights.torchvision_vgg16()), "preprocessing": "torch"}


def named_weights(record: dict, settings: dict) -> dict:
    """A provenance record with the local weights path replaced by the weights' name and sha256."""
    encoder = settings.get("encoder")
    path = (record.get("settings") or {}).get("encoder_weights")
    if not encoder or not path or path == "imagenet":
        return record
    text = json.dumps(record).replace(json.dumps(path)[1:-1], f"{TORCHVISION}:sha256:{encoder['member_sha256']}")
    return json.loads(text)
