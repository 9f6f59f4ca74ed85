"""``lrn`` on the command line: ``lrn train``, ``lrn evaluate``, ``lrn whiten``.

Bad input ends with one line ``lrn: error: ...`` naming the file or value, and exit code 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lrn.data.eg1800 import PROTOCOLS
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


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=None,
                        help="folder holding eg1800/ (default: $LRN_DATA, else the download cache)")
    parser.add_argument("--protocol", choices=PROTOCOLS, default="paper",
                        help="paper: 250 train / 25 val / 48 test; full: every official id")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split draw and of training")


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
                       help="epochs without a lower validation loss before stopping")
    train.add_argument("--encoder-weights", default=None,
                       help="-vgg variants: 'imagenet' (default) or a VGG-16 no-top weights file")
    train.add_argument("-o", "--out", type=Path, required=True, help="run folder to write")

    evaluate = commands.add_parser("evaluate", help="score a saved model on an EG1800 split")
    evaluate.add_argument("--model", type=Path, required=True, help="a .keras file written by lrn")
    add_data_arguments(evaluate)
    evaluate.add_argument("--split", choices=("train", "val", "test"), default="test")
    evaluate.add_argument("-o", "--out", type=Path, required=True, help="folder for the CSV and JSON")

    whiten = commands.add_parser("whiten", help="put the person of each photo on a plain white background")
    whiten.add_argument("photos", nargs="+", type=Path, help="photos (JPEG, PNG, ...) of any size")
    whiten.add_argument("--model", type=Path, default=None,
                        help="a .keras file written by lrn (default: the LRN shipped with lrn, trained on "
                             "EG1800: academic use only)")
    whiten.add_argument("-o", "--out", type=Path, required=True, help="output folder for <name>_white.png")
    whiten.add_argument("--low", type=float, default=0.3, help="probability at or below which the pixel is white")
    whiten.add_argument("--high", type=float, default=0.7, help="probability at or above which the pixel is the photo")
    whiten.add_argument("--raw", action="store_true",
                        help="keep every predicted region (default: only the largest, holes filled)")
    whiten.add_argument("--trust-model", action="store_true",
                        help="allow a model file that carries code (Lambda layers): only for files you trust")
    return main


def run_train(args) -> None:
    from lrn import data, evaluate, fit, predict, train

    config = train.TrainConfig(variant=args.variant, size=args.size, width=args.width, epochs=args.epochs,
                               batch_size=args.batch_size, learning_rate=args.lr, seed=args.seed,
                               patience=args.patience, encoder_weights=args.encoder_weights)
    done = fit.fit(config, args.out, protocol=args.protocol, seed=args.seed, root=args.data)
    predict.save_predictions(args.out / "predictions.npz", done.test_ids, done.levels)
    truths = data.eg1800(args.data, args.protocol, 224, args.seed).test.masks
    table = evaluate.score_levels(done.test_ids, done.levels, truths)
    summary = evaluate.save_scores(table, args.out, {**done.result.provenance, "protocol": args.protocol})
    print(f"{args.variant}: Jaccard {summary['jaccard']['text']} %, Hausdorff {summary['hausdorff']['text']} px "
          f"on {summary['n']} test images; wrote {args.out}")


def run_evaluate(args) -> None:
    from lrn import data, evaluate, models, predict, provenance

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


def run_whiten(args) -> None:
    from tqdm.auto import tqdm

    from lrn import cutout, fastforward, models, shipped

    if args.model is None:
        print(f"lrn whiten: the shipped model ({shipped.NAME}). {shipped.TERMS}", file=sys.stderr)
        args.model = shipped.MODEL_FILE
        if not args.model.is_file():
            shipped.pretrained()  # raises the error that says how to get it
    try:
        model = models.load(args.model, safe_mode=not args.trust_model)
    except InputError as error:
        if "refused" in str(error):
            raise InputError(f"{error} On the command line: --trust-model.") from None
        raise
    forward, _ = fastforward.for_model_file(args.model, model)  # one photo at a time: TensorFlow Lite is faster
    for photo in tqdm(args.photos, desc="whiten", disable=len(args.photos) < 2):
        print(cutout.whiten_file(model, photo, args.out, low=args.low, high=args.high, clean=not args.raw,
                                 forward=forward))


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        {"train": run_train, "evaluate": run_evaluate, "whiten": run_whiten}[args.command](args)
    except InputError as error:
        print(f"lrn: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
