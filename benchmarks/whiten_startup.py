"""``lrn whiten`` as a user times it: one photo (start-up included) and several photos per call.

    .venv/bin/python benchmarks/whiten_startup.py [--baseline REF] [--photos N] [--repeats R]

Side by side in one run: this checkout's command and the command at git ``REF`` (default
``0c863e4``, the last commit whose ``lrn whiten`` imported TensorFlow to run its model),
extracted with ``git archive`` into a temporary folder and run from there with the same
Python and the same photos (EG1800's first N photos, 600x800; without the data folder, N
600x800 JPEGs made from scikit-image's public-domain ``astronaut``). Each call is a fresh process,
timed from start to exit; the median of R calls is kept. The cost of one more photo is
``(time of N photos - time of 1 photo) / (N - 1)``. Also counts the lines that the command
writes to standard error at an error level (``E0000 ...``, ``error``).

Prints a table and writes ``benchmarks/whiten_startup.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402


def command(code_root: Path, photos: list[Path], out: Path) -> list[str]:
    call = (f"import sys; sys.path.insert(0, {str(code_root)!r}); from lrn import cli; "
            f"sys.exit(cli.main(['whiten', *sys.argv[1:], '-o', {str(out)!r}]))")
    return [sys.executable, "-c", call, *map(str, photos)]


def timed(cmd: list[str], repeats: int) -> tuple[float, list[str]]:
    times, err = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=tempfile.gettempdir())
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{cmd[:3]} failed: {done.stderr[-2000:]}")
        err = done.stderr.splitlines()
    return statistics.median(times), err


def astronaut_photos(n: int, folder: Path) -> list[Path]:
    """``n`` 600x800 JPEGs of scikit-image's ``astronaut`` (public domain), each shifted a little."""
    from PIL import Image
    from skimage import data

    base = Image.fromarray(data.astronaut()).resize((600, 800), Image.Resampling.BILINEAR)
    paths = []
    for k in range(n):
        path = folder / f"astronaut_{k}.jpg"
        base.rotate(0, translate=(4 * k, 0), fillcolor=(255, 255, 255)).save(path, quality=90)
        paths.append(path)
    return paths


def error_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("E0") or " error" in line.lower() or line.lower().startswith("error")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="0c863e4")
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "whiten_startup.json")
    args = parser.parse_args(argv)
    root = run.data_root()
    with tempfile.TemporaryDirectory(prefix="whiten-bench-") as tmp:
        tmp = Path(tmp)
        if root is None:
            run.log("EG1800 not found (LRN_DATA): timing on photos made from scikit-image's astronaut")
            (tmp / "photos").mkdir()
            photos, source = astronaut_photos(args.photos, tmp / "photos"), "astronaut"
        else:
            photos, source = sorted((root / "eg1800" / "images_data_crop").glob("*.jpg"))[: args.photos], "EG1800"
        archive = tmp / "baseline.tar"
        subprocess.run(["git", "archive", "-o", str(archive), args.baseline, "lrn"], cwd=REPO, check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(tmp / "baseline", filter="data")
        rows, out = [], {"baseline": args.baseline, "photos": len(photos), "source": source, "repeats": args.repeats,
                         "runs": {},
                         "load_average_before": os.getloadavg()}
        for label, code_root in (("baseline " + args.baseline, tmp / "baseline"), ("this checkout", REPO)):
            timed(command(code_root, photos[:1], tmp / "warm"), 1)  # caches (a first conversion) filled
            one, err = timed(command(code_root, photos[:1], tmp / label.replace(" ", "_")), args.repeats)
            many, _ = timed(command(code_root, photos, tmp / label.replace(" ", "_")), args.repeats)
            per = (many - one) / max(1, len(photos) - 1)
            out["runs"][label] = {"one_photo_s": one, "n_photos_s": many, "per_more_photo_s": per,
                                  "error_lines": error_lines(err)}
            rows.append([label, one, many, 1000 * per, len(error_lines(err))])
            run.log(f"{label}: 1 photo {one:.2f} s, {len(photos)} photos {many:.2f} s")
    out["load_average_after"] = os.getloadavg()  # > 0.5 means something else ran: the times are inflated
    base, new = (out["runs"][k] for k in out["runs"])
    out["startup_speedup"] = base["one_photo_s"] / new["one_photo_s"]
    out["per_photo_ratio"] = new["per_more_photo_s"] / base["per_more_photo_s"]
    run.table(f"lrn whiten, fresh process per call (median of {args.repeats}; {source} 600x800 photos)",
              ["command", "1 photo (s)", f"{len(photos)} photos (s)", "per more photo (ms)", "error lines"], rows,
              f"one photo: {out['startup_speedup']:.1f}x faster than {args.baseline}; one more photo costs "
              f"{out['per_photo_ratio']:.2f}x the baseline's (this checkout refines edges by default); load average "
              f"{out['load_average_before'][0]:.1f} before, {out['load_average_after'][0]:.1f} after")
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
