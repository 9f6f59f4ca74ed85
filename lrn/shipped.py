"""The model shipped inside the package: an LRN for people photos, trained on EG1800 and CCP.

``lrn.pretrained()`` loads it; ``lrn whiten PHOTO`` uses it when no ``--model`` is given, so
the cut-out works right after ``pip install`` with no training. ``make model`` retrains it
through the book's pipeline (``python -m lrnbook ship``: the cut-out candidates of the cpu
profile are trained once and kept, the choice is made on validation photos by the
``cutout`` page, and the chosen one is installed here with :func:`install`, which checks the
file (loads safely, is an LRN, packed with its ``.tflite`` in at most :data:`MAX_BYTES`,
:mod:`lrn.packing`) and writes the model card's facts
next to it (``lrn/pretrained/<name>.json``), including how photos enter it (:func:`feed`).

Terms: the code is MIT-licensed, but the model is trained on EG1800, whose photos are
distributed "for academic exchange only", and on CCP's street photos, for research use; the
model inherits those restrictions (:data:`TERMS`). It is not for commercial use.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from lrn import fastforward, feeding, lite, packing
from lrn.cache import TFLITE, cache_dir, sha256_file, write_sha256_line
from lrn.cutout_model import FEEDS, CutoutModel, check_feed, tensorflow_start_up_filtered
from lrn.errors import InputError

FOLDER = Path(__file__).resolve().parent / "pretrained"
NAME = "lrn_people_224"
MODEL_FILE = FOLDER / f"{NAME}.keras"
CARD_FILE = FOLDER / f"{NAME}.json"
TFLITE_FILE = FOLDER / f"{NAME}.tflite"
"""The same model converted for the LiteRT interpreter (``lrn whiten`` runs it without
importing TensorFlow); ``<name>.tflite.sha256`` records the ``.keras`` file it was made from
(:func:`lrn.cache.write_sha256_line`). A model packed without it (the last of
:data:`lrn.packing.PACKINGS`) is converted on first use instead (:func:`tflite_file`)."""
MAX_BYTES = 50 * 10**6
"""Most bytes the shipped model may take inside the package, ``.keras`` and ``.tflite`` together
(50 MB), so that ``pip install`` stays small."""
TRAIN_COMMAND = "make model (python -m lrnbook ship --profile cpu)"

TERMS = ("Trained on EG1800 (Shen et al., 2016), whose photos are distributed for academic exchange "
         "only, and on CCP (Yang et al., 2014) street photos, for research use: this model inherits "
         "those restrictions and is not for commercial use. The lrn code is MIT-licensed.")


def pretrained(safe_mode: bool = True) -> CutoutModel:
    """The shipped LRN as a :class:`lrn.cutout_model.CutoutModel`: its ``network`` is a
    ``keras.Model`` (input 224x224x3 uint8-range floats, outputs s1..s6), with its ``feed``
    (:func:`feed`) and default cleaning (:func:`clean`) from its card.

    Use it with :func:`lrn.segment` (``lrn.segment(lrn.pretrained(), photo)``), which feeds
    it photos the way it was trained. TensorFlow's harmless start-up lines (the error-level
    CUDA line on a machine without a GPU) are held back; any other line is passed on. See
    :data:`TERMS` for what the model may be used for.

    Raises
    ------
    lrn.errors.InputError
        If the package was installed without the model file (``make model`` writes it).
    """
    if not MODEL_FILE.is_file():
        raise InputError(f"the shipped model {MODEL_FILE} is missing from this installation; "
                         "`make model` trains and installs it, or pass a model file (lrn whiten --model)")
    with tensorflow_start_up_filtered():
        from lrn import models  # TensorFlow only when the Keras model is asked for (lrn whiten runs the .tflite)

        network = models.load(MODEL_FILE, safe_mode=safe_mode)
    return CutoutModel(network, feed(), clean(), "Keras")


def convert(photos=None) -> Path:
    """Write :data:`TFLITE_FILE` from :data:`MODEL_FILE` in the card's packing, checked, with its record.

    A float32 conversion must match Keras within :data:`lrn.fastforward.TOLERANCE`; a smaller
    one must stay within the packing tolerance (:func:`lrn.packing.within_tolerance`) on
    ``photos`` (uint8 arrays; default :func:`check_photos`). Raises ``InputError`` otherwise.
    """
    tflite = card_packing(card()).tflite
    if tflite is packing.CONVERTED_ON_FIRST_USE:
        raise InputError(f"the shipped model is packed as {card_packing(card())}: the package holds no .tflite, "
                         "and lrn whiten converts the .keras file on its first call (lrn.shipped.tflite_file)")
    cutout_model = pretrained()
    content = fastforward.convert(cutout_model.network, tflite)
    forward = fastforward.LiteForward(content)
    if tflite == "float32":
        difference = fastforward.check(forward, cutout_model.network)
        if not difference <= fastforward.TOLERANCE:
            raise InputError(f"the converted shipped model differs from Keras by {difference:.2g}")
    else:
        measured = packing.fidelity(cutout_model, forward, fed(cutout_model, photos))
        if not packing.within_tolerance(measured):
            raise InputError(f"the shipped model's {tflite} conversion is outside the tolerance: {measured}")
    write_tflite(content)
    return TFLITE_FILE


def write_tflite(content: bytes | None) -> None:
    """:data:`TFLITE_FILE` and its record of the ``.keras`` file it was made from; ``None``
    removes both (a model packed without a ``.tflite``)."""
    record = TFLITE_FILE.with_name(TFLITE_FILE.name + ".sha256")
    if content is None:
        TFLITE_FILE.unlink(missing_ok=True)
        record.unlink(missing_ok=True)
        return
    TFLITE_FILE.write_bytes(content)
    write_sha256_line(record, sha256_file(MODEL_FILE), MODEL_FILE.name)


def converted_on_first_use() -> bool:
    """Whether the shipped model is packed without a ``.tflite`` (:data:`lrn.packing.CONVERTED_ON_FIRST_USE`)."""
    return CARD_FILE.is_file() and card_packing(card()).tflite is packing.CONVERTED_ON_FIRST_USE


def tflite_file(verbose: bool = True) -> Path:
    """The shipped model's ``.tflite``: :data:`TFLITE_FILE`, or for a model packed without one,
    its conversion in the cache (``$LRN_CACHE/tflite``, where :func:`lrn.cutout.load` finds it).

    That conversion is made on the first call, with float16 weights (half the bytes for the
    Try-it page; the interpreter widens them to float32), and kept only if its maps stay within
    the packing tolerance of the Keras model on :func:`check_photos`
    (:func:`lrn.packing.within_tolerance`); otherwise it raises ``InputError``. The first call
    imports TensorFlow and takes about a minute for a VGG-16 encoder on 2 cores.
    """
    if not converted_on_first_use():
        return TFLITE_FILE
    converted = lite.cached_conversion(MODEL_FILE)
    if converted is not None:
        return converted
    if verbose:
        print(f"lrn: converting the shipped model to LiteRT once (about a minute; kept in {cache_dir() / TFLITE})",
              file=sys.stderr)
    cutout_model = pretrained()
    with tensorflow_start_up_filtered():  # the converter's and the interpreter's start-up lines
        content = fastforward.convert(cutout_model.network, "float16")
        measured = packing.fidelity(cutout_model, fastforward.LiteForward(content), fed(cutout_model))
    if not packing.within_tolerance(measured):
        raise InputError(f"the shipped model's LiteRT conversion is outside the packing tolerance: {measured}")
    target = cache_dir() / TFLITE / lite.conversion_name(MODEL_FILE, lite.tensorflow_version())
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.partial{os.getpid()}")
    partial.write_bytes(content)
    os.replace(partial, target)  # atomic: a concurrent reader never sees half a file
    return target


def tflite_bytes() -> int:
    """Bytes of the ``.tflite`` inside the package (0 for a model packed without one)."""
    return 0 if converted_on_first_use() else TFLITE_FILE.stat().st_size


def check_photos() -> list:
    """Photos on which a packed model is compared with its float32 self when none are given:
    scikit-image's astronaut (a person in a head-and-shoulders portrait), whole, mirrored, her
    head and shoulders cropped, and placed small on scikit-image's rocket photo."""
    from skimage import data

    astronaut, rocket = data.astronaut(), data.rocket()
    small = astronaut[::4, ::4]
    pasted = rocket.copy()
    pasted[-small.shape[0]:, 200:200 + small.shape[1]] = small
    return [astronaut, astronaut[:, ::-1], astronaut[:320, 80:400], pasted]


def fed(model: CutoutModel, photos=None):
    """``photos`` (default :func:`check_photos`) as ``model`` takes them: float32 (N, h, w, 3)."""
    return np.concatenate([feeding.network_input(photo, model.feed, model.input_size)[0]
                           for photo in (check_photos() if photos is None else photos)])


def card() -> dict:
    """Facts about the shipped model written at install time: settings, data, training time, terms."""
    if not CARD_FILE.is_file():
        raise InputError(f"the shipped model's card {CARD_FILE} is missing; `make model` writes it")
    return json.loads(CARD_FILE.read_text())


def feed() -> str:
    """How photos enter the shipped model (``"pad"`` or ``"squash"``, :data:`lrn.cutout_model.FEEDS`), from its card."""
    return card_feed(card()) if CARD_FILE.is_file() else "squash"


def card_packing(facts: dict) -> packing.Packing:
    """How the card's model is packed (:class:`lrn.packing.Packing`); a card written before
    packing existed was packed at full precision."""
    return packing.Packing(**facts.get("packing", {"keras": "float32", "tflite": "float32"}))


def packed_text(facts: dict) -> str:
    """How a card's model is packed, in words: its packing and the bytes of both files against the limit."""
    total = facts.get("package_bytes")
    size = f", {total / 10**6:.1f} MB of the {MAX_BYTES / 10**6:.0f} MB allowed" if total else ""
    return f"{card_packing(facts)}{size}"


def card_feed(facts: dict) -> str:
    """The feed a model card records: under ``fit`` (its older name); a card written before
    letterboxing existed has none, and that model was trained squashed."""
    return facts.get("fit", "squash")


def fit() -> str:
    """Deprecated name of :func:`feed`."""
    return feed()


def clean() -> bool:
    """Whether ``lrn whiten`` cleans the shipped model's map by default, from its card (else ``True``)."""
    return bool(card().get("clean", True)) if CARD_FILE.is_file() else True


def whitening() -> dict:
    """How ``lrn whiten`` turns the shipped model's map into an opacity, as ``make model`` chose it
    on validation photos and wrote it on the card (``whitening``: ``steps``, the order of
    ``"clean"`` and ``"refine"``; ``refinement``, the guided filter's settings; ``ramp``, the
    soft edge's low and high ends), read by :mod:`lrn.cutout` for its defaults. ``{}`` without a
    card or for a card written before that choice: :mod:`lrn.cutout`'s built-in defaults hold."""
    return dict(card().get("whitening", {})) if CARD_FILE.is_file() else {}


def set_whitening(choice: dict) -> None:
    """Write ``choice`` on the card as its ``whitening`` (see :func:`whitening`), leaving the model
    and every other fact as they are."""
    facts = card()
    facts["whitening"] = choice
    CARD_FILE.write_text(json.dumps(facts, indent=1, sort_keys=True) + "\n")


def install(run_dir, train_seconds: float | None = None, note: str = "", feed: str = "squash", clean: bool = True,
            facts: dict | None = None, photos=None) -> Path:
    """Check ``run_dir/model.keras`` (a run folder of ``lrn train`` or the pipeline) and install it.

    The card (``lrn/pretrained/<name>.json``) records the model's provenance (settings, data
    ids, commit), its size, the training time in seconds if given, how photos enter it
    (``feed``: ``"pad"`` or ``"squash"``, :data:`lrn.cutout_model.FEEDS`, stored as ``fit``), whether ``lrn whiten``
    cleans its map by default (``clean``), any further ``facts`` (the choice and its
    validation scores), and :data:`TERMS`.

    The ``.keras`` file and its ``.tflite`` conversion together must fit in :data:`MAX_BYTES`:
    the first packing of :data:`lrn.packing.PACKINGS` that does, with maps within the packing
    tolerance of the float32 model on ``photos`` (uint8 arrays, e.g. validation photos;
    default :func:`check_photos`), is used (:func:`pack`), and the card records it with the
    measured differences and why the packings before it were refused (``packing``,
    ``packing_fidelity``, ``packings_refused``, ``package_bytes``).
    """
    import keras

    from lrn import models, provenance  # TensorFlow only for installing (make model)

    source = Path(run_dir) / "model.keras"
    if not source.is_file():
        raise InputError(f"no trained model at {source}: `make model` trains and installs the shipped model")
    check_feed(feed)
    model = models.load(source)  # safe mode: a shipped file must not carry code
    if not models.is_lrn(model):
        raise InputError(f"{source} is not an LRN (it has {len(model.outputs)} outputs, LRN has 6)")
    record = provenance.read_model_provenance(source)
    history_path = Path(run_dir) / "history.csv"
    history = provenance.read_csv(history_path)[0].to_dict("list") if history_path.is_file() else None
    # Ship the weights without the optimizer's state (Adam keeps two more copies of every weight).
    bare = keras.saving.load_model(source, compile=False, safe_mode=True)  # uncompiled: no optimizer to save
    reference = CutoutModel(bare, feed)
    with tempfile.TemporaryDirectory() as tmp:
        full = provenance.save_model(bare, Path(tmp) / MODEL_FILE.name, record)
        chosen, staged, content, measured, refused = pack(reference, full, fed(reference, photos), source)
        FOLDER.mkdir(exist_ok=True)
        shutil.copy2(staged, MODEL_FILE)
    write_tflite(content)
    size = MODEL_FILE.stat().st_size
    facts = {"name": NAME, "file": MODEL_FILE.name, "bytes": size, "package_bytes": size + len(content or b""),
             "packing": chosen._asdict(), "packing_fidelity": measured, "packings_refused": refused,
             "parameters": int(model.count_params()),
             "input": list(model.input.shape[1:]), "train_command": TRAIN_COMMAND, "fit": feed, "clean": bool(clean),
             "train_seconds": train_seconds, "cpus": os.cpu_count(), "note": note, "history": history, "terms": TERMS,
             "provenance": record, **(facts or {})}
    CARD_FILE.write_text(json.dumps(facts, indent=1, sort_keys=True) + "\n")
    return MODEL_FILE


def pack(reference: CutoutModel, full: Path, inputs, source) -> tuple[packing.Packing, Path, bytes, dict, list]:
    """The first of :data:`lrn.packing.PACKINGS` within :data:`MAX_BYTES` and the tolerance.

    ``reference`` is the float32 model (Keras) saved as ``full``; ``inputs`` the fed check
    photos. Returns the packing, its ``.keras`` file (``full`` or a half-precision copy beside
    it), its ``.tflite`` content (``None`` when packed without one) and its fidelity
    (:func:`lrn.packing.fidelity`: ``keras`` and ``tflite``, each against ``reference``), and
    why each packing before it was refused (one sentence each). Raises ``InputError`` naming
    every packing tried.
    """
    import keras

    tried = []
    for option in packing.PACKINGS:
        keras_file = full if option.keras == "float32" else full.with_name(f"float16-{full.name}")
        if option.keras == "float16" and not keras_file.is_file():
            packing.halve_weights(full, keras_file)
        if keras_file.stat().st_size > MAX_BYTES:  # the .keras file alone is too big: no need to convert
            tried.append(f"{option}: the .keras file alone is {keras_file.stat().st_size / 10**6:.1f} MB")
            continue
        network = reference.network if option.keras == "float32" else keras.saving.load_model(
            keras_file, compile=False, safe_mode=True)
        content = None if option.tflite is packing.CONVERTED_ON_FIRST_USE else fastforward.convert(network, option.tflite)
        total = keras_file.stat().st_size + (len(content) if content is not None else 0)
        if total > MAX_BYTES:
            tried.append(f"{option}: {total / 10**6:.1f} MB")
            continue
        measured = {"keras": packing.fidelity(reference, CutoutModel(network, reference.feed), inputs)}
        if content is not None:
            measured["tflite"] = packing.fidelity(reference, fastforward.LiteForward(content), inputs)
        if option.tflite == "float32":  # as before packing existed: the conversion matches Keras to float precision
            measured["tflite_vs_keras_max_abs"] = fastforward.check(fastforward.LiteForward(content), network)
            if not measured["tflite_vs_keras_max_abs"] <= fastforward.TOLERANCE:
                tried.append(f"{option}: the conversion differs from Keras by {measured['tflite_vs_keras_max_abs']:.2g}")
                continue
        if not all(packing.within_tolerance(measured[kind]) for kind in ("keras", "tflite") if kind in measured):
            misses = [f".{kind} file's {miss}" for kind in ("keras", "tflite") if kind in measured
                      for miss in packing.tolerance_misses(measured[kind])]
            tried.append(f"{option}: outside the tolerance ({'; '.join(misses)})")
            continue
        return option, keras_file, content, measured, tried
    raise InputError(f"{source} fits in no packing within the {MAX_BYTES / 10**6:.0f} MB allowed inside the package "
                     f"and the tolerance: {'; '.join(tried)}. Train a narrower model (--width)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lrn.shipped", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    install_cmd = commands.add_parser("install", help="install RUN_DIR/model.keras as the shipped model")
    install_cmd.add_argument("run_dir", type=Path)
    install_cmd.add_argument("--train-seconds", type=float, default=None)
    install_cmd.add_argument("--note", default="")
    install_cmd.add_argument("--feed", "--fit", dest="feed", choices=FEEDS, default="squash",
                             help="how photos enter the model: the way it was trained (--fit: its older name)")
    install_cmd.add_argument("--raw", action="store_true", help="lrn whiten does not clean this model's map by default")
    commands.add_parser("convert", help="write the shipped model's .tflite (lrn whiten runs it without TensorFlow)")
    args = parser.parse_args(argv)
    try:
        if args.command == "convert":
            path = convert()
        else:
            path = install(args.run_dir, args.train_seconds, args.note, feed=args.feed, clean=not args.raw)
    except InputError as error:
        print(f"lrn.shipped: error: {error}", file=sys.stderr)
        return 2
    print(f"installed {path}: {packed_text(card())}; card {CARD_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
