#!/usr/bin/env bash
# Build the Jupyter Book (1.x) into _build/html, fully offline at read time.
#
#   tools/build_book.sh            # assets (npm, cached) + strict build
#   BOOK_STRICT=0 tools/build_book.sh   # warnings are printed but do not fail the build
#   BOOK_CLEAN=1  tools/build_book.sh   # remove _build/html and _build/.doctrees first
#
# Steps:
#  1. tools/book_assets.py vendors MathJax, RequireJS and the ipywidgets HTML manager
#     from the npm registry (pinned versions and integrity) into book/_static/vendor/.
#  2. jupyter-book build (notebooks are NOT executed: execute_notebooks is "off";
#     the stages run first, e.g. `make reproduce`).
#  3. A static check that no <script src> or <link href> in the built HTML points
#     outside the book (the browser test checks the rest).
# Warnings: by default the build runs with -W --keep-going (every warning is shown,
# then the build fails), because a warning here is almost always a broken reference,
# a missing toc file or a notebook output that will not render.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PY="${PYTHON:-$REPO/.venv/bin/python}"
JB="${JUPYTER_BOOK:-$REPO/.venv/bin/jupyter-book}"
[ -x "$PY" ] || PY="$(command -v python3)"
[ -x "$JB" ] || JB="$(command -v jupyter-book)"

PROFILE="${PROFILE:-cpu}"
start=$(date +%s)
"$PY" tools/book_assets.py
# The Try-it page's model (the shipped .tflite, checked against its .keras), config and samples.
"$PY" -m lrnbook tryit
# The book's sources for this profile, copied to _build/src by lrnbook.booksource (stale runs get a notice;
# tracked files are never modified). Needs every run of the profile executed.
SRC="$("$PY" -m lrnbook stage --profile "$PROFILE" | tail -n 1)"

if [ "${BOOK_CLEAN:-0}" = "1" ]; then
    rm -rf _build/html _build/.doctrees _build/jupyter_execute
fi

args=(build "$SRC" --path-output . --builder html)
if [ "${BOOK_STRICT:-1}" = "1" ]; then
    args+=(--warningiserror --keep-going)
fi
# Sphinx copies static files only when some page is rewritten: when book/_static changed
# (e.g. new vendored versions) rebuild every page so that the copies are refreshed.
static_stamp="$(find "$SRC/book/_static" -type f -printf '%P %s %T@\n' 2>/dev/null | sort | sha1sum | cut -d' ' -f1)"
if [ "$static_stamp" != "$(cat _build/.book_static_stamp 2>/dev/null)" ]; then
    args+=(--all)
fi
echo "[build_book] $JB ${args[*]}"
if ! "$JB" "${args[@]}"; then
    # Sphinx keeps its environment even after a failed (-W) build, and the next run would
    # then find "no targets out of date" and pass: forget it so the warnings come back.
    rm -rf _build/.doctrees _build/.book_static_stamp
    echo "[build_book] FAILED (warnings are errors; BOOK_STRICT=0 to build anyway)" >&2
    exit 1
fi
mkdir -p _build && echo "$static_stamp" > _build/.book_static_stamp

# Publish the per-image result CSVs beside the results page that links them.
"$PY" -m lrnbook publish --profile "$PROFILE"

# No external script/stylesheet/font references in the built pages.
"$PY" - <<'PYEOF'
import re, sys
from pathlib import Path
bad = []
tag = re.compile(r"<(script|link)\b[^>]*>", re.I)
attr = re.compile(r"""\b(src|href)\s*=\s*["']([^"']+)["']""", re.I)
for page in sorted(Path("_build/html").rglob("*.html")):
    for m in tag.finditer(page.read_text(encoding="utf-8", errors="replace")):
        for _, url in attr.findall(m.group(0)):
            if re.match(r"^(https?:)?//", url):
                bad.append(f"{page}: {m.group(0)[:160]}")
if bad:
    print("[build_book] external script/link references found:", *bad, sep="\n  ")
    sys.exit(1)
print("[build_book] no external <script src>/<link href> in _build/html")
PYEOF
echo "[build_book] done in $(( $(date +%s) - start )) s: $REPO/_build/html/index.html"
