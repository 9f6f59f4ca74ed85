"""``lrn`` on the command line: ``lrn train``, ``lrn evaluate``, ``lrn whiten``.

Bad input ends with one line ``lrn: error: ...`` naming the file or value, and exit code 2,
before anything is computed. ``lrn whiten`` goes on past a photo it cannot cut out: it names
that photo and why, writes the others, and ends with exit code 1.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

from lrn.cutout_model import FEEDS, SOFT_EDGE
from lrn.errors import InputError
from lrn.variants import VARIANTS


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def protocol(text: str) -> str:
    """An EG1800 protocol name (checked here, so that ``lrn whiten`` never imports the data code)."""
    from lrn.data.eg1800 import PROTOCOLS  # the data code only when a protocol is given: lrn whiten never loads it

    if text not in PROTOCOLS:
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from {', '.join(PROTOCOLS)})")
    return text


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=None,
                        help="folder holding eg1800/ (default: $LRN_DATA, else the download cache)")
    parser.add_argument("--protocol", type=protocol, default="paper",
                        help="paper: 250 train / 25 val / 48 test; full: every official id")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split draw and of training")


WHITEN_RULES = """\
output names:
  a.jpg gives a_white.png (_bg, _cutout, _mask for the other modes). Photos of one call
  that would get the same name, letter case aside (a.jpg and a.png), are named after their
  whole file name instead: a.jpg_white.png and a.png_white.png; the same file name in two
  folders is numbered in the order given: a.jpg_white.png, a.jpg-2_white.png. A photo named
  twice (alone and in its folder) is cut out once.

photos that fail:
  a photo that cannot be read or written is named on standard error with the reason and
  skipped; the others are still written, a summary line follows, and the exit status is 1.
  Bad arguments stop the command before any photo is read, with exit status 2.
"""


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="lrn", description=__doc__.splitlines()[0])
    commands = main.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a variant on EG1800 and score it on the test split")
    train.add_argument("--variant", choices=VARIANTS, required=True)
    add_data_arguments(train)
    train.add_argument("--size", type=positive_int, default=224, help="input size in pixels, a multiple of 32")
    train.add_argument("--width", type=positive_float, default=1.0, help="filter-count multiplier")
    train.add_argument("--epochs", type=positive_int, default=50, help="maximum epochs (per stage for -vgg)")
    train.add_argument("--batch-size", type=positive_int, default=8)
    train.add_argument("--lr", type=positive_float, default=1e-4, help="Adam's learning rate")
    train.add_argument("--patience", type=positive_int, default=10,
                       help="epochs in a row without an improving validation loss before a stage stops")
    train.add_argument("--min-improvement", type=float, default=0.0,
                       help="relative: an epoch improves when its validation loss is below best x (1 - this)")
    train.add_argument("--stop-on", choices=("sum", "finest"), default="sum",
                       help="the validation loss the patience watches: LRN's sum over its six levels (the "
                            "training loss) or its finest map's alone, the one scored (the book's Table 1)")
    train.add_argument("--precision", choices=("float32", "mixed_bfloat16"), default="float32",
                       help="Keras dtype policy (mixed_bfloat16: bfloat16 arithmetic, float32 outputs and loss)")
    train.add_argument("--minutes", type=positive_float, default=None,
                       help="stop at the last epoch boundary before this many minutes; the same command "
                            "again goes on from there")
    train.add_argument("--encoder-weights", default=None,
                       help="-vgg variants: 'imagenet' (default) or a VGG-16 no-top weights file")
    train.add_argument("-o", "--out", type=Path, required=True, help="run folder to write")

    evaluate = commands.add_parser("evaluate", help="score a saved model on an EG1800 split")
    evaluate.add_argument("--model", type=Path, required=True, help="a .keras file written by lrn")
    add_data_arguments(evaluate)
    evaluate.add_argument("--split", choices=("train", "val", "test"), default="test")
    evaluate.add_argument("-o", "--out", type=Path, required=True, help="folder for the CSV and JSON")

    whiten = commands.add_parser(
        "whiten", help="put the person of each photo on plain white (or a colour, or transparency)",
        description="Cut the person out of each photo: on white (default), on a colour, on transparency\n"
                    "(RGBA PNG) or as a mask, at the photo's own (upright) size.",
        epilog=WHITEN_RULES, formatter_class=argparse.RawDescriptionHelpFormatter)
    whiten.add_argument("photos", nargs="+",
                        help="photos (JPEG, PNG, ...) of any size, folders of photos, or - to read one photo "
                             "from standard input")
    whiten.add_argument("-o", "--out", default=None,
                        help="output folder for <name>_white.png (_bg, _cutout, _mask for the other modes), "
                             "or - to write one PNG to standard output (the default when reading from -)")
    output = whiten.add_mutually_exclusive_group()
    output.add_argument("--background", default="white",
                        help="white (default), transparent (RGBA PNG), or a colour: #RRGGBB, R,G,B or a CSS colour name")
    output.add_argument("--mask", action="store_true", help="write the mask alone (8-bit grey, 255 = person)")
    whiten.add_argument("--refine", choices=("guided", "none"), default="guided",
                        help="refine the edges at the photo's resolution with the photo as guide "
                             "(default: guided, with the settings on the model card, chosen on validation photos)")
    whiten.add_argument("--raw", action="store_true",
                        help="keep every predicted region: skip the cleaning step (by default the largest "
                             "region is kept with its holes filled, where the model card's steps say, "
                             "lrn.cutout.WHITEN_STEPS; with --refine none, if the card's clean says so)")
    whiten.add_argument("--model", type=Path, default=None,
                        help="a .keras file written by lrn (default: the LRN shipped with lrn, trained on "
                             "EG1800: academic use only)")
    whiten.add_argument("--feed", "--fit", dest="feed", choices=FEEDS, default=None,
                        help="how the photo enters the model's square input: pad (aspect ratio kept) or squash "
                             "(default: the way the model was trained; squash for a model of lrn train). "
                             "--fit is its deprecated name")
    whiten.add_argument("--low", type=float, default=None,
                        help="soft edge: opacity (of the refined matte, or of the map with --refine none) at or "
                             f"below which the pixel is background (default: the model card's, else {SOFT_EDGE[0]})")
    whiten.add_argument("--high", type=float, default=None,
                        help="soft edge: opacity at or above which the pixel is the photo "
                             f"(default: the model card's, else {SOFT_EDGE[1]})")
    whiten.add_argument("--trust-model", action="store_true",
                        help="allow a model file that carries code (Lambda layers): only for files you trust")
    return main


def run_train(args) -> None:
    from lrn import data, evaluate, fit, predict, train  # TensorFlow only for the command that trains

    config = train.TrainConfig(variant=args.variant, size=args.size, width=args.width, epochs=args.epochs,
                               batch_size=args.batch_size, learning_rate=args.lr, seed=args.seed,
                               patience=args.patience, min_improvement=args.min_improvement,
                               stop_on=args.stop_on, precision=args.precision, encoder_weights=args.encoder_weights)
    deadline = None if args.minutes is None else time.time() + 60 * args.minutes
    done = fit.fit(config, args.out, protocol=args.protocol, seed=args.seed, root=args.data, deadline=deadline)
    if not done.result.finished:
        last = done.result.history.iloc[-1] if len(done.result.history) else None
        where = f"stage {int(last['stage'])}, {int(last['epoch']) + 1} epochs" if last is not None else "no epoch"
        print(f"{args.variant}: stopped after {args.minutes:g} minutes ({where}); run the same command again to go on")
        return
    predict.save_predictions(args.out / "predictions.npz", done.test_ids, done.levels)
    truths = data.eg1800(args.data, args.protocol, 224, args.seed).test.masks
    table = evaluate.score_levels(done.test_ids, done.levels, truths)
    summary = evaluate.save_scores(table, args.out, {**done.result.provenance, "protocol": args.protocol})
    print(f"{args.variant}: Jaccard {summary['jaccard']['text']} %, Hausdorff {summary['hausdorff']['text']} px "
          f"on {summary['n']} test images; wrote {args.out}")


def run_evaluate(args) -> None:
    from lrn import data, evaluate, models, predict, provenance  # TensorFlow only for the command that evaluates

    model = models.load(args.model)
    splits = data.eg1800(args.data, protocol=args.protocol, size=224, seed=args.seed)
    split = getattr(splits, args.split)
    h, w = predict.model_size(model)
    inputs = None  # photos resized once from their originals to the model's size, as in training
    if (h, w) != (224, 224) and h == w:
        inputs = getattr(data.eg1800(args.data, protocol=args.protocol, size=h, seed=args.seed), args.split)
    table = evaluate.evaluate(model, split, inputs=inputs)
    record = provenance.record(args.seed, {"model": str(args.model), "protocol": args.protocol,
                                           "split": args.split,
                                           "model_provenance": provenance.read_model_provenance(args.model)},
                               split.manifest_sha256)
    summary = evaluate.save_scores(table, args.out, record, name=args.split)
    print(f"Jaccard {summary['jaccard']['text']} %, Hausdorff {summary['hausdorff']['text']} px "
          f"on {summary['n']} {args.split} images; wrote {args.out}")


PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif"}


def photo_inputs(items: list[str]) -> list[str | Path]:
    """The photos named on the command line: files, every photo in a folder (sorted, not
    recursive), or ``-`` (standard input, alone). A file named twice (alone and in its folder)
    is given once, where it first appears."""
    if "-" in items:
        if len(items) > 1:
            raise InputError("- (standard input) must be the only photo")
        return ["-"]
    photos = []
    for item in map(Path, items):
        if item.is_dir():
            found = sorted(p for p in item.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
            if not found:
                raise InputError(f"{item} is a folder with no photos ({', '.join(sorted(PHOTO_SUFFIXES))})")
            photos += found
        elif item.exists():
            photos.append(item)
        else:
            raise InputError(f"{item}: no such file or folder")
    return once_each(photos)


def once_each(photos: list[Path]) -> list[Path]:
    """``photos`` without the repeats of a file (the same file reached by another path)."""
    seen, kept = set(), []
    for photo in photos:
        real = photo.resolve()
        if real not in seen:
            seen.add(real)
            kept.append(photo)
    return kept


def output_names(photos: list[str | Path], mode: str) -> list[str]:
    """A distinct output file name for each photo, for one output folder.

    A photo's output is :func:`lrn.cutout.output_name` (``a.jpg`` -> ``a_white.png``) unless
    another photo of the list would get the same name, letter case aside (some file systems
    ignore it). Those photos are named after their whole file name instead (``a.jpg_white.png``,
    ``a.png_white.png``); a name still shared (the same file name in two folders) gets ``-2``,
    ``-3``, ... after its first use, in the order of ``photos`` (``a.jpg-2_white.png``).

    Parameters
    ----------
    photos : list of str or Path
        Photo files, or ``-`` (standard input, named ``stdin``).
    mode : str
        One of :data:`lrn.cutout.MODES` (it gives the ending: ``_white``, ``_bg``, ...).

    Returns
    -------
    list of str
        File names, in the order of ``photos``, no two equal when letter case is ignored.
    """
    from lrn import cutout  # numpy and scipy only when photos are named, not for the parser

    files = [Path("stdin" if photo == "-" else photo) for photo in photos]
    stems = Counter(f.stem.casefold() for f in files)
    bases = [f.name if stems[f.stem.casefold()] > 1 else f.stem for f in files]
    return [f"{base}{cutout.SUFFIXES[mode]}.png" for base in numbered(bases)]


def numbered(bases: list[str]) -> list[str]:
    """``bases`` with ``-2``, ``-3``, ... added to each repeat of an earlier one (letter case
    aside), skipping names that another base of the list already has."""
    taken = {base.casefold() for base in bases}
    used, names = set(), []
    for base in bases:
        name, k = base, 1
        while name.casefold() in used or (k > 1 and name.casefold() in taken):
            k += 1
            name = f"{base}-{k}"
        used.add(name.casefold())
        names.append(name)
    return names


def output_folder(out: str) -> Path:
    """The output folder ``out``, not created yet; :class:`InputError` if it is a file."""
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"-o {folder} is a file; name an output folder")
    return folder


def create_folder(folder: Path) -> None:
    """Create ``folder`` (and its parents) if needed; :class:`InputError` if it cannot be."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot create the output folder {folder}: {error.strerror or error}") from None


def whiten_mode(args) -> tuple[str, tuple[int, int, int]]:
    """``(mode, colour)`` from ``--mask`` / ``--background``."""
    from lrn import cutout  # numpy and scipy only for lrn whiten, not for the parser

    if args.mask:
        return "mask", cutout.WHITE
    value = args.background.strip().lower()
    if value in ("white", "transparent"):
        return value, cutout.WHITE
    return "colour", cutout.parse_colour(args.background)


def run_whiten(args) -> int:
    """Cut out every photo it can; 0 when all were written, 1 when one or more failed."""
    from tqdm.auto import tqdm

    from lrn import cutout, shipped  # numpy, scipy, Pillow only for lrn whiten

    photos = photo_inputs(args.photos)
    mode, colour = whiten_mode(args)
    low = cutout.LOW if args.low is None else args.low  # the card's ramp (lrn.cutout.LOW) unless given
    high = cutout.HIGH if args.high is None else args.high
    if not 0 <= low < high <= 1:
        raise InputError(f"need 0 <= --low < --high <= 1, got {low} and {high}")
    targets = whiten_targets(photos, args.out, mode)
    if args.model is None:
        print(f"lrn whiten: the shipped model ({shipped.NAME}). {shipped.TERMS}", file=sys.stderr)
    model, _ = cutout.load(args.model, trust=args.trust_model)  # quiet: no interpreter's INFO line
    if targets != [None]:
        create_folder(targets[0].parent)  # once the model is there: a refused model leaves no folder behind
    clean = False if args.raw else None  # None: the model's own default (the shipped model's card), else cleaned
    options = dict(clean=clean, refinement=cutout.DEFAULT_REFINEMENT if args.refine == "guided" else None,
                   low=low, high=high, feed=args.feed)  # None: the model's own way (lrn.cutout.load)
    failed = []
    bar = tqdm(list(zip(photos, targets)), desc="whiten", unit="photo",
               disable=True if len(photos) < 2 else None)  # None: a bar only in a terminal
    for source, target in bar:
        try:
            whiten_one(model, source, target, mode, colour, options)
        except Exception as error:  # noqa: BLE001 - one photo's failure must not cost the others
            failed.append(source)
            report_failure(source, error, batch=len(photos) > 1)
            continue
        if target is not None:
            tqdm.write(str(target))
    if failed and len(photos) > 1:
        print(batch_summary(len(photos), failed, args.out), file=sys.stderr)
    return 1 if failed else 0


def whiten_targets(photos: list[str | Path], out: str | None, mode: str) -> list[Path | None]:
    """Where each photo's cut-out goes (``None``: standard output), all chosen before any is
    written (:func:`output_names`); :class:`InputError` for an ``-o`` that cannot be used,
    including one where a cut-out would replace one of the input photos."""
    to_stdout = out == "-" or (out is None and photos == ["-"])
    if to_stdout and len(photos) > 1:
        raise InputError(f"-o - writes one PNG to standard output, but {len(photos)} photos were given")
    if to_stdout:
        return [None]
    if out is None:
        raise InputError("name an output folder with -o (or -o - for standard output)")
    folder = output_folder(out)
    targets = [folder / name for name in output_names(photos, mode)]
    inputs = {Path(photo).resolve(): photo for photo in photos if photo != "-"}
    for photo, target in zip(photos, targets):
        if target.resolve() in inputs:  # e.g. a second run over a folder that holds the first run's cut-outs
            raise InputError(f"the cut-out of {photo} would overwrite the input photo {inputs[target.resolve()]}: "
                             "choose another output folder (-o)")
    return targets


def whiten_one(model, source: str | Path, target: Path | None, mode: str, colour, options: dict) -> None:
    """Cut out one photo (a file, or ``-``: standard input) into ``target`` (``None``:
    standard output)."""
    from lrn import cutout, imageops  # numpy, scipy and Pillow only for lrn whiten

    data = sys.stdin.buffer.read() if source == "-" else None  # a pipe: the photo's bytes on stdin
    photo = imageops.read_photo("standard input" if source == "-" else source, data=data)
    image = cutout.cut_out(model, photo, mode, colour, **options)
    if target is None:
        cutout.save_png(image, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        cutout.save_png(image, target)


def failure_reason(error: Exception) -> str:
    """What went wrong, for people: an InputError's message names the file and what was
    expected already; anything else is named by its type."""
    return str(error) if isinstance(error, InputError) else f"{type(error).__name__}: {error}"


def report_failure(source: str | Path, error: Exception, batch: bool) -> None:
    """One line on standard error: ``lrn whiten: skipped <photo>: <reason>`` in a batch (above
    the progress bar), ``lrn: error: <reason>`` for a lone photo."""
    from tqdm.auto import tqdm

    if batch:
        tqdm.write(f"lrn whiten: skipped {source}: {failure_reason(error)}", file=sys.stderr)
    else:
        print(f"lrn: error: {failure_reason(error)}", file=sys.stderr)


def batch_summary(total: int, failed: list, out: str, listed: int = 5) -> str:
    """``lrn whiten: 9 of 10 photos written to OUT; 1 failed (broken.jpg)``, the failed ones
    listed up to ``listed``."""
    names = ", ".join(map(str, failed[:listed]))
    if len(failed) > listed:
        names += f" and {len(failed) - listed} more"  # each was named on its own line already
    return f"lrn whiten: {total - len(failed)} of {total} photos written to {out}; {len(failed)} failed ({names})"


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        code = {"train": run_train, "evaluate": run_evaluate, "whiten": run_whiten}[args.command](args)
    except InputError as error:
        print(f"lrn: error: {error}", file=sys.stderr)
        return 2
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
