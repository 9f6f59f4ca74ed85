"""Choose the cpu profile's learning rate on the VALIDATION split (never the test split).

Trains each variant briefly at several learning rates and prints the validation Jaccard
and loss of each. Usage: python tools/lr_sweep.py OUT.json [--epochs 5] [--width 0.25] [--size 224]
"""
import argparse
import json
import tempfile

import lrn  # noqa: F401  (oneDNN on)
from lrn import data, evaluate, train


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--width", type=float, default=0.25)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--variants", nargs="+", default=["lrn", "unet"])
    parser.add_argument("--lrs", nargs="+", type=float, default=[1e-4, 1e-3, 3e-3])
    args = parser.parse_args()
    splits = data.eg1800(protocol="paper", size=args.size, seed=0)
    val224 = splits.val if args.size == 224 else data.eg1800(protocol="paper", size=224, seed=0).val
    results = []
    for variant in args.variants:
        for lr in args.lrs:
            config = train.TrainConfig(variant=variant, size=args.size, width=args.width, epochs=args.epochs,
                                       learning_rate=lr, patience=None, seed=0)
            with tempfile.TemporaryDirectory() as run_dir:
                result = train.train(config, splits.train, splits.val, run_dir, verbose=2)
            summary = evaluate.summarize(evaluate.evaluate(result.model, val224, progress=False))
            row = {"variant": variant, "learning_rate": lr, "epochs": args.epochs, "width": args.width,
                   "size": args.size, "val_loss": float(result.history["val_loss"].iloc[-1]),
                   "val_jaccard": summary["jaccard"]["mean"], "val_hausdorff": summary["hausdorff"]["mean"]}
            print(json.dumps(row), flush=True)
            results.append(row)
            with open(args.out, "w") as f:
                json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
