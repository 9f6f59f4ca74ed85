"""The direction words of the executed pages agree with the numbers they name.

Reads the committed cpu pages (what the book renders): every sentence that says *better*,
*worse*, *rises*, *falls*, *higher* or *lower* about numbers shown on the same page is
checked against those numbers (the tables of the same output cell or the cell before it).
"""
from html.parser import HTMLParser

import nbformat
import pytest
import re

from conftest import REPO

RUNS = REPO / "notebooks" / "runs" / "cpu"


class _Tables(HTMLParser):
    """Rows of every table in an HTML fragment, cells as text."""

    def __init__(self):
        super().__init__()
        self.rows, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(self._cell.strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def outputs(page: str) -> list[tuple[str, str]]:
    """``(kind, text)`` of every html / markdown output of an executed page, in order."""
    path = RUNS / f"{page}.ipynb"
    if not path.is_file():
        pytest.skip(f"{path} not executed")
    found = []
    for cell in nbformat.read(path, as_version=4).cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            for kind in ("text/html", "text/markdown"):
                if kind in data:
                    value = data[kind]
                    found.append((kind, "".join(value) if isinstance(value, list) else value))
    return found


def table(html: str) -> list[list[str]]:
    parser = _Tables()
    parser.feed(html)
    return parser.rows


def mean_of(cell: str) -> float:
    return float(cell.split("±")[0])


def test_table1_sentences_name_the_right_direction_and_size():
    found = outputs("results")
    html = next(text for kind, text in found if 'id="table1"' in text)
    rows = {r[0]: r for r in table(html)[1:]}
    text = " ".join(t for kind, t in found if kind == "text/markdown" and " against " in t)
    pattern = re.compile(r"(\S+) against (\S+): Jaccard (better|worse) by ([\d.]+) pp.*?Hausdorff (better|worse) by ([\d.]+) px")
    checked = 0
    for sentence in re.split(r"(?<=\)\.)\s", text):
        m = pattern.search(sentence)
        if not m:
            continue
        a, b, j_word, j, h_word, h = m.groups()
        ja, jb = mean_of(rows[a][1]), mean_of(rows[b][1])
        ha, hb = mean_of(rows[a][3]), mean_of(rows[b][3])
        assert (j_word == "better") == (ja > jb) and float(j) == pytest.approx(abs(ja - jb), abs=0.011), sentence
        assert (h_word == "better") == (ha < hb) and float(h) == pytest.approx(abs(ha - hb), abs=0.011), sentence
        checked += 1
    assert checked >= 3, f"expected the pairwise sentences under Table 1, checked {checked}"


def test_per_level_sentences_agree_with_their_tables():
    found = outputs("results")
    checked = 0
    for (kind, html), (next_kind, text) in zip(found, found[1:]):
        if kind != "text/html" or 'id="levels' not in html or next_kind != "text/markdown":
            continue
        rows = {r[0]: r for r in table(html)[1:]}
        jaccard = {k: mean_of(r[2]) for k, r in rows.items()}
        hausdorff = {k: mean_of(r[3]) for k, r in rows.items()}
        m = re.search(r"highest mean Jaccard index is at (s\d) \(([\d.]+) %\), the lowest Hausdorff distance at (s\d) "
                      r"\(([\d.]+) px\)", text)
        assert m, text
        assert m.group(1) == max(jaccard, key=jaccard.get) and float(m.group(2)) == jaccard[m.group(1)]
        assert m.group(3) == min(hausdorff, key=hausdorff.get) and float(m.group(4)) == hausdorff[m.group(3)]
        m = re.search(r"From s5 to s6 the Jaccard index (rises|falls) by ([\d.]+) pp and the Hausdorff distance "
                      r"(rises|falls) by ([\d.]+) px", text)
        assert m, text
        dj, dh = jaccard["s6"] - jaccard["s5"], hausdorff["s6"] - hausdorff["s5"]
        assert (m.group(1) == "rises") == (dj > 0) and float(m.group(2)) == pytest.approx(abs(dj), abs=0.011)
        assert (m.group(3) == "rises") == (dh > 0) and float(m.group(4)) == pytest.approx(abs(dh), abs=0.011)
        if "makes the outline worse" in text:
            assert dh > 0
        checked += 1
    assert checked >= 1


def test_cutout_summary_words_follow_its_arrows():
    found = outputs("cutout")
    lines = [line for kind, text in found if kind == "text/markdown" for line in text.splitlines() if "→" in line]
    pattern = re.compile(r"Jaccard ([\d.]+) → ([\d.]+) % \((higher|lower)\), Hausdorff ([\d.]+) → ([\d.]+) px \((lower|higher)\)")
    for line in lines:
        m = pattern.search(line)
        assert m, line
        j0, j1, jw, h0, h1, hw = m.groups()
        assert (jw == "higher") == (float(j1) > float(j0)), line
        assert (hw == "lower") == (float(h1) < float(h0)), line
