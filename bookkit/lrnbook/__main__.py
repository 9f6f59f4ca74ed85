"""``python -m lrnbook``: status, execute, stage and publish a profile's book.

    python -m lrnbook status  --profile cpu          # every stage: current / stale (why) / missing
    python -m lrnbook execute --profile cpu [--force] [--only 'fit/*'] [--no-stale]
    python -m lrnbook stage   --profile cpu          # book sources for that profile in _build/src
    python -m lrnbook publish --profile cpu          # per-image CSVs beside the built pages
    python -m lrnbook execute --profile cpu --only 'fit/*' --minutes 150   # train the queue for at most 150 min
    python -m lrnbook tryit                          # the Try-it page's model, config and sample photos
"""
from __future__ import annotations

import argparse
import sys

from lrn.errors import InputError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lrnbook", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("status", "execute", "stage", "publish", "ship", "whitening", "tryit"),
                        help="whitening: choose again, on validation photos, what lrn whiten does to the shipped "
                             "model's map, and write it on its card (make model does it for a model it installs)")
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--force", action="store_true", help="execute: every stage, current or not")
    parser.add_argument("--no-stale", action="store_true", help="execute: only missing stages")
    parser.add_argument("--only", default=None, help="execute: stages matching this shell pattern, e.g. 'fit/*'")
    parser.add_argument("--minutes", type=float, default=None,
                        help="execute: fits stop training at an epoch boundary before this many minutes, "
                             "the ones not reached are queued; the next call goes on. ship: the same for the "
                             "cut-out candidates, and 0 installs the choice among those already trained")
    args = parser.parse_args(argv)
    from lrnbook import stages  # after parsing: --help answers without loading the stage machinery

    try:
        if args.command == "status":
            rows = stages.status(args.profile)
            for row in rows:
                why = f"  ({row.why})" if row.why else ""
                print(f"{row.state:8} {row.key}  {row.stage.name}{why}")
            counts = {s: sum(r.state == s for r in rows) for s in ("current", "stale", "missing")}
            print(", ".join(f"{n} {s}" for s, n in counts.items()))
            return 0 if counts["current"] == len(rows) else 1
        if args.command == "execute":
            stages.execute(args.profile, stale=not args.no_stale, force=args.force, only=args.only,
                           minutes=args.minutes)
            return 0
        if args.command == "ship":
            from lrn import shipped  # the packing code only for ship
            from lrnbook import ship  # TensorFlow only for ship

            print(f"[lrnbook] installed {ship.ship(args.profile, args.minutes)}: {shipped.packed_text(shipped.card())}")
            return 0
        if args.command == "whitening":
            from lrn import shipped
            from lrnbook import whitening_choice

            entry = whitening_choice.choose_for_shipped()
            print(f"[lrnbook] lrn whiten: {entry['pipeline']} (written on {shipped.CARD_FILE})")
            return 0
        if args.command == "tryit":
            from lrnbook import tryit  # TensorFlow and LiteRT only for tryit

            print(f"[lrnbook] Try-it files in {tryit.prepare()}")
            return 0
        from lrnbook import booksource  # nbformat only for stage and build

        if args.command == "stage":
            print(booksource.copy_sources(args.profile))
        else:
            for path in booksource.publish(args.profile):
                print(f"[lrnbook] published {path}")
    except (InputError, RuntimeError) as error:
        print(f"lrnbook: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
