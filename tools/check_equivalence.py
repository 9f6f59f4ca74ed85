"""Check that a refactor of library modules computes what the code before it computed, and record
it (``bookkit/lrnbook/equivalences.json``) so that stage keys stay where they were
(:mod:`lrnbook.equivalence`).

    python tools/check_equivalence.py --base REV --check data-loaders \\
        --modules lrn.data.ccp lrn.data.eg1800 lrn.data.root [--write]

The code of ``REV`` (``git archive``) and the working tree each run the check in a fresh
interpreter with their own ``lrn`` first on ``sys.path``; the check prints one digest per item
it computed. The refactor is recorded only if every digest agrees and each named module's
normalised source did change (or is new). Checks:

* ``data-loaders``: every split of every EG1800 protocol and every CCP framing at 224 px, the
  data folder named by the ``root`` argument and by ``$LRN_DATA`` (needs ``$LRN_DATA``), every
  array and field hashed; and where a loader says the data folder came from.
* ``training-defaults``: small LRN, U-Net and U-Net-VGG runs with the settings the existing
  runs used (no new option set), stopped by the plateau rule: run keys, settings, logs and the
  weights kept, hashed.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE_DIRS = {"lrn": REPO, "lrnbook": REPO / "bookkit"}  # top-level package -> folder holding it


# ----------------------------------------------------------------------------- inside the checked tree
def _digest(value) -> str:
    """sha256 of a loader's result: arrays by dtype, shape and bytes; dataclasses field by field."""
    import hashlib

    import numpy as np

    h = hashlib.sha256()

    def feed(v):
        if isinstance(v, np.ndarray):
            h.update(f"{v.dtype.str}{v.shape}".encode())
            h.update(np.ascontiguousarray(v).tobytes())
        elif dataclasses.is_dataclass(v) and not isinstance(v, type):
            for f in dataclasses.fields(v):
                h.update(f.name.encode())
                feed(getattr(v, f.name))
        elif isinstance(v, dict):
            for k in sorted(v, key=str):
                h.update(str(k).encode())
                feed(v[k])
        elif isinstance(v, (list, tuple)):
            h.update(f"[{len(v)}".encode())
            for item in v:
                feed(item)
        else:
            h.update(repr(v).encode())

    feed(value)
    return h.hexdigest()


def _data_loaders() -> dict[str, str]:
    import importlib

    import lrn

    # lrn.data's functions eg1800 and folder shadow their submodules as package attributes
    ccp, eg1800 = (importlib.import_module(f"lrn.data.{name}") for name in ("ccp", "eg1800"))

    root = os.environ["LRN_DATA"]
    out = {"lrn": str(Path(lrn.__file__).parent.parent)}
    for protocol in eg1800.PROTOCOLS:
        out[f"eg1800/{protocol}/env"] = _digest(eg1800.eg1800(protocol=protocol, size=224, progress=False))
    out["eg1800/paper/root"] = _digest(eg1800.eg1800(protocol="paper", size=224, root=root, progress=False))
    for protocol in ccp.PROTOCOLS:
        out[f"ccp/{protocol}/env"] = _digest(ccp.load(protocol=protocol, size=224, progress=False))
    out["ccp/full/root"] = _digest(ccp.load(protocol="full", size=224, root=root, progress=False))
    out["where"] = repr([module._resolve_root(r) for module in (eg1800, ccp) for r in (None, root)])
    return out


def _training_defaults() -> dict[str, str]:
    """Small runs with the settings every existing run used, trained and digested whole.

    LRN and U-Net from random weights and U-Net-VGG's two stages (a VGG-16 file of random
    weights written here), with a plateau rule tight enough to stop them early and a margin, so
    that the rule's counters, the best weights it keeps and the run key all count.
    """
    import tempfile

    os.environ["LRN_CACHE"] = tempfile.mkdtemp()  # both codes start from an empty cache
    import keras
    import numpy as np

    import lrn
    from lrn import train
    from lrn.data import synthetic

    out = {"lrn": str(Path(lrn.__file__).parent.parent)}
    folder = Path(tempfile.mkdtemp())
    keras.utils.set_random_seed(0)  # the same VGG-16 file for both codes, at the same path (in the key)
    vgg_file = Path(tempfile.gettempdir()) / "check_equivalence_vgg16.weights.h5"
    keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3)).save_weights(vgg_file)
    runs = {
        "lrn": (dict(variant="lrn", size=64, width=0.125, epochs=8, learning_rate=3e-2, patience=2,
                     min_improvement=0.05), 64),
        "unet": (dict(variant="unet", size=64, width=0.125, epochs=8, learning_rate=3e-2, patience=2), 64),
        "unet_vgg": (dict(variant="unet_vgg", size=32, width=1.0, epochs=3, batch_size=4, patience=1,
                          encoder_weights=str(vgg_file)), 32),
    }
    for name, (settings, size) in runs.items():
        config = train.TrainConfig(**{"batch_size": 8, **settings})
        train_split, val_split = synthetic(16, size=size, seed=0), synthetic(8, size=size, seed=1)
        result = train.train(config, train_split, val_split, folder / name, verbose=0)
        history = result.history.drop(columns=["seconds"], errors="ignore")
        out[f"{name}/epochs"] = f"{len(history)} of at most {config.epochs * (2 if 'vgg' in name else 1)}"
        out[f"{name}/key"] = train.run_key(config, train_split, val_split)
        out[f"{name}/settings"] = _digest(config.to_dict())
        out[f"{name}/history"] = _digest({c: history[c].to_numpy() for c in history.columns})
        out[f"{name}/weights"] = _digest([np.asarray(w) for w in result.model.get_weights()])
    return out


CHECKS = {"data-loaders": _data_loaders, "training-defaults": _training_defaults}


# ----------------------------------------------------------------------------- driver
def module_file(tree: Path, module: str) -> Path:
    """The file of ``module`` (``lrn.data.ccp``, ``lrnbook.keys``) in a tree laid out like the repo."""
    top, *rest = module.split(".")
    base = tree / SOURCE_DIRS[top].relative_to(REPO) / top
    for candidate in (base.joinpath(*rest, "__init__.py"), base.joinpath(*rest).with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return base.joinpath(*rest).with_suffix(".py")  # absent


def export(rev: str, into: Path) -> str:
    """Extract the committed ``lrn/`` and ``bookkit/`` of ``rev`` into ``into``; return the full commit."""
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", f"{rev}^{{commit}}"],
                            check=True, capture_output=True, text=True).stdout.strip()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit, "lrn", "bookkit"], check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return commit


def run_check(tree: Path, check: str) -> dict[str, str]:
    """Run ``check`` in a fresh interpreter whose ``lrn`` is the one in ``tree``."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tree), str(tree / "bookkit")]),
               TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--run", check], env=env,
                          cwd=tempfile.gettempdir(), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the check failed under {tree}:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if Path(result.pop("lrn")).resolve() != tree.resolve():
        raise SystemExit(f"the check imported lrn from outside {tree}")
    return result


def normalised(path: Path) -> str | None:
    from lrnbook.keys import normalised_hash

    return normalised_hash(path.read_text())[:16] if path.is_file() else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", help="git revision holding the code before the refactor")
    parser.add_argument("--check", choices=sorted(CHECKS))
    parser.add_argument("--modules", nargs="+", help="the modules the refactor changed or added")
    parser.add_argument("--summary", default="", help="what the refactor did, in words")
    parser.add_argument("--write", action="store_true", help="append the record if the check passes")
    parser.add_argument("--run", choices=sorted(CHECKS), help=argparse.SUPPRESS)  # inside the checked tree
    args = parser.parse_args(argv)
    if args.run:
        print(json.dumps(CHECKS[args.run]()))
        return 0
    if not (args.base and args.check and args.modules):
        parser.error("--base, --check and --modules are needed")

    with tempfile.TemporaryDirectory() as tmp:
        before_tree = Path(tmp)
        commit = export(args.base, before_tree)
        modules = {m: {"before": normalised(module_file(before_tree, m)), "after": normalised(module_file(REPO, m))}
                   for m in args.modules}
        for m, change in modules.items():
            if change["after"] is None:
                raise SystemExit(f"{m}: no such module in the working tree (a deleted module cannot be recorded)")
            if change["before"] == change["after"]:
                raise SystemExit(f"{m}: its normalised source did not change since {args.base}; leave it out")
        print(f"running {args.check} on {commit[:12]} ...", file=sys.stderr)
        before = run_check(before_tree, args.check)
    print(f"running {args.check} on the working tree ...", file=sys.stderr)
    after = run_check(REPO, args.check)
    differ = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    for key in sorted(before.keys() | after.keys()):
        shown = after.get(key, "")  # a digest says nothing to a reader; a short fact does
        print(f"{'same' if key not in differ else 'DIFFERS'}  {key}" + (f": {shown}" if " " in shown else ""))
    if differ:
        print(f"not equivalent: {len(differ)} of {len(before)} items differ", file=sys.stderr)
        return 1
    record = {"base": commit, "modules": modules, "check": args.check, "items": len(after),
              "evidence": {"before": _digest_text(json.dumps(before, sort_keys=True)),
                           "after": _digest_text(json.dumps(after, sort_keys=True))},
              "summary": args.summary}
    print(json.dumps(record, indent=1))
    if args.write:
        from lrnbook.equivalence import RECORDS

        records = json.loads(RECORDS.read_text()) if RECORDS.is_file() else []
        RECORDS.write_text(json.dumps(records + [record], indent=1) + "\n")
        print(f"recorded in {RECORDS.relative_to(REPO)}", file=sys.stderr)
    return 0


def _digest_text(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:16]


if __name__ == "__main__":
    sys.exit(main())
