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
                for key in (kind, f"application/papermill.record/{kind}"):  # also what a page glues for another
                    if key not in data:
                        continue
                    value = data[key]
                    found.append((kind, "".join(value) if isinstance(value, list) else value))
    return found


def table(html: str) -> list[list[str]]:
    parser = _Tables()
    parser.feed(html)
    return parser.rows


def mean_of(cell: str) -> float:
    return float(cell.split("±")[0])


def finished(variants) -> list[str]:
    """The Table 1 runs of the committed cpu profile that have test predictions (the others are training or queued)."""
    return [v for v in variants if (REPO / "notebooks" / "runs" / "cpu" / "results" / v / "predictions.npz").is_file()]


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
    n = len(finished(("lrn", "lrn_vgg", "unet", "unet_vgg")))
    assert checked >= n * (n - 1) // 2, f"expected a pairwise sentence for every two of {n} finished runs, checked {checked}"


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
    assert checked >= len(finished(("lrn", "lrn_vgg"))), "expected a per-level sentence for every finished LRN run"


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


# --- Every page: each computed sentence with a direction word agrees with the numbers it names ----
#
# A direction word (better, worse, higher, lower, rises, falls, ahead, exceeds, improves, holds)
# in any computed output of any executed page must sit inside a sentence that one of the checks
# below recognises and verifies from the numbers the sentence (or its table row) names. A new kind
# of sentence with such a word fails the coverage test until a check for it is written here.

DIRECTION = re.compile(r"\b(better|worse|higher|lower|rises|falls|ahead|exceeds?|improves|holds)\b(?! quartile)")
NUM = r"[+-]?\d+(?:\.\d+)?"


def _sign(lo: float, hi: float) -> int:
    return 1 if lo > 0 else -1 if hi < 0 else 0


def check_versus(text):
    """Model card, peer and cut-out pages: "A vs B % Jaccard, better: W (gain of A g, 95 % interval lo to hi)",
    on cleaned or raw masks; a gain is positive when A is better (Jaccard A - B, Hausdorff B - A)."""
    for line in re.finditer(r"- \*[^*]+\*, (?:cleaned|raw), (?P<a>.+?) vs (?P<b>.+?): (?P<rest>.*)", text):
        for m in re.finditer(rf"(?P<x>{NUM}) vs (?P<y>{NUM}) (?P<unit>% Jaccard|px Hausdorff), better: (?P<w>.+?) "
                             rf"\(gain of (?P<g>.+?) (?P<d>{NUM}), 95 % interval (?P<lo>{NUM}) to (?P<hi>{NUM})\)",
                             line["rest"]):
            x, y, d, lo, hi = (float(m[k]) for k in ("x", "y", "d", "lo", "hi"))
            gain = x - y if m["unit"].endswith("Jaccard") else y - x
            s = _sign(lo, hi)
            want = (line["a"] if d > 0 else line["b"]) if s else "neither"
            ok = abs(gain - d) <= 0.011 and lo <= d <= hi and m["w"].startswith(want) and m["g"] == line["a"]
            yield (line.start("rest") + m.start(), line.start("rest") + m.end()), None if ok else m[0]


def check_effects(text):
    """Choosing the cut-out model: "<set>: better, gain +2.85 pp (95 % interval +1.98 to +3.82)", a gain
    being positive when the change helps on either measure."""
    for m in re.finditer(rf"(?P<w>better|worse), gain (?P<d>{NUM}) (?:pp|px) \(95 % interval (?P<lo>{NUM}) to "
                         rf"(?P<hi>{NUM})\)", text):
        d, lo, hi = float(m["d"]), float(m["lo"]), float(m["hi"])
        ok = _sign(lo, hi) != 0 and lo <= d <= hi and (m["w"] == "better") == (d > 0)
        yield m.span(), None if ok else m[0]


def check_moves(text):
    """"... rises from 38.31 to 60.31 px", and what the sentence then concludes about the last unit."""
    for m in re.finditer(rf"(?P<w>rises|falls|stays) from (?P<a>{NUM}) to (?P<b>{NUM})", text):
        a, b = float(m["a"]), float(m["b"])
        yield m.span(), None if m["w"] == ("rises" if b > a else "falls" if b < a else "stays") else m[0]
    for m in re.finditer(rf"Hausdorff distance (?P<hw>rises|falls) from {NUM} to {NUM} px and its mean Jaccard index "
                         rf"(?P<jw>rises|falls) from {NUM} to {NUM} %: the last refinement unit (?P<v>[^.]+)\.", text):
        want = ("makes the outline worse, not better" if (m["hw"], m["jw"]) == ("rises", "falls") else
                "improves both measures" if (m["hw"], m["jw"]) == ("falls", "rises") else
                "improves one measure and worsens the other")
        yield m.span(), None if m["v"] == want else m[0]


def check_table1_sentences(text):
    """Results: "Jaccard better by 0.42 pp (as in the paper, where it is better by 2.42 pp)" (sizes: the test above)."""
    for m in re.finditer(r"(?:Jaccard|Hausdorff) (?P<w>better|worse) by [\d.]+ (?:pp|px) \((?P<rel>as in|the reverse of) "
                         r"the paper, where it is (?P<pw>better|worse) by [\d.]+ (?:pp|px)\)", text):
        yield m.span(), None if (m["rel"] == "as in") == (m["w"] == m["pw"]) else m[0]
    for m in re.finditer(r"From s5 to s6 the Jaccard index (?:rises|falls) by [\d.]+ pp and the Hausdorff distance "
                         r"(?P<hw>rises|falls) by [\d.]+ px(?P<end>: the last refinement unit makes the outline worse, "
                         r"not better, on these test photos)?", text):
        yield m.span(), None if not m["end"] or m["hw"] == "rises" else m[0]  # words vs table: the test above
    for m in re.finditer(rf"The finest map s6, the one that is scored, has a lower mean Jaccard index than the coarsest, "
                         rf"s1 \((?P<s6>{NUM}) % against (?P<s1>{NUM}) %\)", text):
        yield m.span(), None if float(m["s6"]) < float(m["s1"]) else m[0]


def check_arrows(text):
    """Choosing the cut-out model, summary: "Jaccard 92.39 → 89.96 % (lower), Hausdorff 25.12 → 30.38 px (higher)"."""
    for m in re.finditer(rf"Jaccard (?P<j0>{NUM}) → (?P<j1>{NUM}) % \((?P<jw>higher|lower)\), Hausdorff (?P<h0>{NUM}) → "
                         rf"(?P<h1>{NUM}) px \((?P<hw>lower|higher)\)", text):
        ok = (m["jw"] == "higher") == (float(m["j1"]) > float(m["j0"])) and \
            (m["hw"] == "lower") == (float(m["h1"]) < float(m["h0"]))
        yield m.span(), None if ok else m[0]


def check_edges(text):
    """Model card: "Refined the same way, MediaPipe scores J % and H px, the shipped model J % and H px. <who> is ahead"."""
    for m in re.finditer(rf"scores (?P<pj>{NUM}) % and (?P<ph>{NUM}) px, the shipped model (?P<j>{NUM}) % and "
                         rf"(?P<h>{NUM}) px(?: \(Hausdorff at the photos' own size\))?\. (?P<v>The shipped model is ahead on [A-Za-z ]+|The peer is ahead on both measures)",
                         text):
        pj, ph, j, h = (float(m[k]) for k in ("pj", "ph", "j", "h"))
        ours = [name for name, ok in (("Jaccard", j > pj), ("Hausdorff", h < ph)) if ok]
        want = "The shipped model is ahead on " + " and ".join(ours) if ours else "The peer is ahead on both measures"
        yield m.span(), None if m["v"] == want else m[0]


def check_seed_rule(text):
    """Claims: the LRN/UNET gap against the seed-to-seed spread, in both of its forms."""
    for m in re.finditer(rf"per seed: (?P<list>[-+\d., ]+?) (?:pp|px) \(mean (?P<mean>{NUM})\); the larger std across "
                         rf"seeds is (?P<std>{NUM}) (?:pp|px): the gap (?P<w>exceeds|does not exceed)", text):
        diffs = [float(v) for v in m["list"].split(",")]
        same = all(d > 0 for d in diffs) or all(d < 0 for d in diffs)
        exceeds = same and abs(float(m["mean"])) > 2 * float(m["std"])
        ok = abs(sum(diffs) / len(diffs) - float(m["mean"])) <= 0.011 and (m["w"] == "exceeds") == exceeds
        yield m.span(), None if ok else m[0]
    for m in re.finditer(rf"a mean gap of (?P<gap>{NUM}) (?:pp|px) in \S+ favour over \d+ seeds, which (?P<w>exceeds|does "
                         rf"not exceed) the seed-to-seed spread \(same sign for every seed: (?P<same>yes|no); the "
                         rf"larger std across seeds: (?P<std>{NUM}) (?:pp|px), and the gap must exceed twice that\)", text):
        gap, twice = float(m["gap"]), 2 * float(m["std"])
        exceeds = m["same"] == "yes" and gap > twice
        rounding = m["same"] == "yes" and abs(gap - twice) <= 0.02  # both numbers are rounded to 0.01
        yield m.span(), None if rounding or (m["w"] == "exceeds") == exceeds else m[0]


INTERVAL = rf"(?P<d>{NUM}) (?:pp|px) \[(?P<lo>{NUM}), (?P<hi>{NUM})\]"


def _ablation_verdict(j: int, h: int) -> str:
    better = [n for n, s in (("Jaccard", j), ("Hausdorff", h)) if s == 1]
    worse = [n for n, s in (("Jaccard", j), ("Hausdorff", h)) if s == -1]
    if better and worse:
        return f"mixed: better on {better[0]}, worse on {worse[0]}"
    for word, names in (("better", better), ("worse", worse)):
        if len(names) == 2:
            return f"{word} than the baseline on both measures"
        if names:
            return f"{word} on {names[0]}; {'Hausdorff' if names[0] == 'Jaccard' else 'Jaccard'}: no difference shown at this budget"
    return "no difference shown at this budget"


def check_larger(text):
    """Ablations: "At 224x224: Jaccard d pp [lo, hi], Hausdorff d px [lo, hi] (verdict)."."""
    pattern = INTERVAL.replace("(?P<d>", "(?P<jd>").replace("(?P<lo>", "(?P<jlo>").replace("(?P<hi>", "(?P<jhi>")
    pattern += ", Hausdorff " + INTERVAL.replace("(?P<d>", "(?P<hd>").replace("(?P<lo>", "(?P<hlo>").replace("(?P<hi>", "(?P<hhi>")
    for m in re.finditer(r"Jaccard " + pattern + r" \((?P<v>[^)]+)\)", text):
        want = _ablation_verdict(_sign(float(m["jlo"]), float(m["jhi"])), _sign(float(m["hlo"]), float(m["hhi"])))
        yield m.span(), None if m["v"] == want else m[0]


def check_squeeze_finding(text, verdicts=()):
    """Claims (for the first page): the squeeze claim's verdict, as its table states it, and the squeeze
    run against the baseline (lrnbook.claims.ablation_verdict's words, checked against its intervals in
    tests/test_claims.py and on the ablations page)."""
    for m in re.finditer(r"that claim (?P<v>.+?); against the baseline on the same test photos, the squeeze run "
                         r"(?:is|shows) [^.]+\.", text):
        yield m.span(), None if m["v"] in verdicts else m[0]


def check_squeeze_gaps(text):
    """Claims (and the first page): "Jaccard +3.72 pp (within twice the seed-to-seed std, 5.58 pp)"."""
    for m in re.finditer(rf"(?:Jaccard|Hausdorff) (?P<d>{NUM}) (?:pp|px) \((?P<w>beyond|within) twice the seed-to-seed "
                         rf"std, (?P<twice>{NUM}) (?:pp|px)\)", text):
        beyond = abs(float(m["d"])) > float(m["twice"])
        yield m.span(), None if (m["w"] == "beyond") == beyond else m[0]


def check_shown_falls(text):
    """Haze: "On k of the n photos shown the background opacity falls from *a* to *b* (X: 3.0 % → 1.0 %, ...);
    it does not on Y: 2.0 % → 2.5 %." -- k moves listed that fall, the others that do not, n in all."""
    move = rf"[^:;()]+: (?P<a>{NUM}) % → (?P<b>{NUM}) %"
    for m in re.finditer(r"On (?P<k>\d+) of the (?P<n>\d+) photos shown the background opacity falls from \*[^*]+\* to "
                         r"\*[^*]+\*(?: \((?P<falling>[^)]*)\))?(?:; it does not on (?P<others>[^.]*(?:\.\d[^.]*)*))?\.", text):
        falling = [(float(a), float(b)) for a, b in re.findall(move.replace("?P<a>", "").replace("?P<b>", ""), m["falling"] or "")]
        others = [(float(a), float(b)) for a, b in re.findall(move.replace("?P<a>", "").replace("?P<b>", ""), m["others"] or "")]
        ok = (len(falling) == int(m["k"]) and len(falling) + len(others) == int(m["n"])
              and all(b < a for a, b in falling) and all(b >= a for a, b in others))
        yield m.span(), None if ok else m[0]


def check_verdict_counts(text):
    """Claims' summary: "Verdicts on the paper's 6 claims about its Table 1: *holds* 1, *does not hold* 0,
    *not settled* 0, *not tested yet* 5" counts every claim once."""
    for m in re.finditer(r"Verdicts on the paper's (?P<n>\d+) claims(?: about its Table 1)?: \*?holds\*? (?P<a>\d+), "
                         r"\*?does not hold\*? (?P<b>\d+), \*?not settled\*? (?P<c>\d+), \*?not tested yet\*? (?P<d>\d+)",
                         text):
        yield m.span(), None if sum(int(m[k]) for k in "abcd") == int(m["n"]) else m[0]


def _learns(fell: float, d: float, hi: float) -> bool:
    return fell < 10 or (d <= -10 and hi < 0)  # lrnbook.claims.FLAT_CURVE, FAR_BELOW_PP


def check_learns_properly(text):
    """Ablations: "**Verdict: <v>.** Evidence: validation loss fell 48 % ...; Jaccard gain over the baseline d pp [lo, hi]"."""
    for m in re.finditer(rf"\*\*Verdict: (?P<v>[^*]+)\.\*\* Evidence: validation loss fell (?P<fell>\d+) % [^;]*; Jaccard gain "
                         rf"over the baseline (?P<d>{NUM}) pp \[(?P<lo>{NUM}), (?P<hi>{NUM})\]", text):
        holds = _learns(float(m["fell"]), float(m["d"]), float(m["hi"]))
        yield m.span(), None if m["v"].startswith("holds") == holds else m[0]


def check_training_trend(text):
    """Training pages: "the training loss (of s6) averaged A, P % below|above its mean over the m epochs up to the
    best (B)", and "still fitting its training photos better" only after a fall of more than 5 % in some stage."""
    falls = []
    for m in re.finditer(rf"averaged (?P<a>{NUM}), (?P<p>{NUM}) % (?P<w>below|above) its mean over the \d+ epochs up "
                         rf"to the best \((?P<b>{NUM})\)", text):
        a, p, b = float(m["a"]), float(m["p"]), float(m["b"])
        falls.append(100 * (1 - a / b))
        ok = abs(abs(100 * (a / b - 1)) - p) <= 1 and (m["w"] == "below") == (a < b)
        yield m.span(), None if ok else m[0]
    for m in re.finditer(r"still fitting its training photos better", text):
        yield m.span(), None if any(f > 5 for f in falls) else m[0]


CHECKS = [check_training_trend, check_learns_properly, check_versus, check_effects, check_moves, check_table1_sentences, check_arrows, check_edges,
          check_seed_rule, check_larger, check_squeeze_gaps, check_verdict_counts, check_shown_falls]


def table_rows(html: str) -> list[list[str]]:
    return [[c.replace("\u00a0", " ") for c in row] for row in table(html)]


def check_tables(html: str) -> list[str]:
    """Tables whose verdict column reads intervals of the same row (claims, ablations, squeeze claim)."""
    errors = []
    rows = table_rows(html)
    if not rows:
        return errors
    header = rows[0]
    for row in rows[1:]:
        cells = dict(zip(header, row))
        verdict = cells.get("verdict", "")
        if "ablation" in cells and "Jaccard gain (pp) [95 % CI]" in cells:
            j = re.search(rf"\[({NUM}), ({NUM})\]", cells["Jaccard gain (pp) [95 % CI]"])
            h = re.search(rf"\[({NUM}), ({NUM})\]", cells["Hausdorff gain (px) [95 % CI]"])
            want = _ablation_verdict(_sign(float(j[1]), float(j[2])), _sign(float(h[1]), float(h[2])))
            if verdict != want:
                errors.append(f"{cells['ablation']}: {verdict!r}, intervals say {want!r}")
        evidence = cells.get("evidence here") or cells.get("evidence") or ""
        if "false positives LRN minus UNET" in evidence:
            fp, fn = re.findall(rf"({NUM}) pp \[({NUM}), ({NUM})\]", evidence)
            answer = {1: "yes", -1: "no, the reverse", 0: "not settled"}
            s_fp, s_fn = _sign(float(fp[1]), float(fp[2])), _sign(float(fn[1]), float(fn[2]))
            if f"LRN more false positives than U-Net: {answer[s_fp]}; U-Net more false negatives than LRN: " \
               f"{answer[s_fn]}" not in verdict:
                errors.append(f"false positives / negatives: {verdict!r} against {evidence!r}")
        elif "validation loss fell" in evidence:
            fell = float(re.search(r"fell (\d+) %", evidence)[1])
            d, lo, hi = (float(v) for v in re.search(rf"Jaccard gain over the baseline ({NUM}) pp \[({NUM}), ({NUM})\]", evidence).groups())
            if verdict.startswith("holds") != _learns(fell, d, hi):
                errors.append(f"squeeze: {verdict!r} against {evidence!r}")
        elif " vs " in evidence and "Jaccard" in evidence and "[" in evidence:
            signs = [_sign(float(lo), float(hi)) for _, lo, hi in re.findall(rf"({NUM}) (?:pp|px) \[({NUM}), ({NUM})\]", evidence)]
            want = "holds" if all(s == 1 for s in signs) else "does not hold" if -1 in signs else "not settled"
            if not verdict.startswith(want):
                errors.append(f"{cells.get(header[0])}: {verdict!r}, intervals say {want!r}")
        elif "Spearman correlation" in evidence:
            rho, p = re.search(rf": ({NUM}) \(p = ([\d.e+-]+)\)", evidence).groups()
            want = "holds" if float(rho) > 0 and float(p) < 0.05 else "not settled"
            if not verdict.startswith(want):
                errors.append(f"image dependence: {verdict!r}, rho {rho}, p {p}")
        elif "decoder:" in evidence:
            ratio = float(re.search(r"\(([\d.]+)x\)", evidence)[1])
            if verdict != ("holds" if ratio > 5 else "does not hold"):
                errors.append(f"parameters: {verdict!r} at {ratio}x")
    return errors


def executed_pages() -> list[str]:
    return sorted(p.stem for p in RUNS.glob("*.ipynb"))


def page_verdicts(found) -> set[str]:
    """Verdicts a page states in a table or a "**Verdict: ...**" line (a summary may repeat them)."""
    verdicts = set()
    for kind, text in found:
        if kind == "text/html":
            rows = table_rows(text)
            if rows and "verdict" in rows[0]:
                verdicts |= {dict(zip(rows[0], r))["verdict"] for r in rows[1:]}
        verdicts |= set(re.findall(r"\*\*Verdict: ([^*]+)\.\*\*", text))
    return verdicts


def page_claims(found) -> dict[str, str]:
    """The table of the paper's claims on a page (a first column headed "claim (<paper>)", and "verdict"; the
    squeeze claim's own table, headed "claim", is not one of them): ``{claim: verdict}``."""
    claims = {}
    for kind, text in found:
        rows = table_rows(text) if kind == "text/html" else []
        if rows and rows[0][0].startswith("claim (") and "verdict" in rows[0]:
            claims |= {r[0]: dict(zip(rows[0], r))["verdict"] for r in rows[1:]}
    return claims


VERDICT_LEADS = {"hold": "holds", "holds": "holds", "does not hold": "does not hold", "do not hold": "does not hold",
                 "is not settled": "not settled", "are not settled": "not settled",
                 "is not tested yet": "not tested yet", "are not tested yet": "not tested yet"}


def check_claims_sentence(text, claims):
    """The intro's sentence (lrnbook.claims.verdicts_text): "Of the paper's 6 claims about its Table 1, 2 hold
    (“a”; “b”), 1 does not hold (“c”), ..." names every claim once, each under the verdict its table gives it."""
    group = r'(?P<n>\d+) (?P<v>hold|holds|do(?:es)? not hold|(?:is|are) not settled|(?:is|are) not tested yet) \((?P<c>“[^”]+”(?:; “[^”]+”)*)\)'
    for m in re.finditer(rf"Of the paper's (?P<total>\d+) claims about its Table 1, (?P<groups>.+?)\.(?:$|\s)", text, re.M):
        named, ok = [], True
        for g in re.finditer(group, m["groups"]):
            listed = re.findall(r"“([^”]+)”", g["c"])
            named += listed
            ok &= len(listed) == int(g["n"]) and all(claims.get(c, "").startswith(VERDICT_LEADS[g["v"]]) for c in listed)
        ok &= len(named) == len(set(named)) == int(m["total"]) == len(claims)
        yield m.span(), None if ok else m[0]


def page_seed_gaps(found) -> dict:
    """The LRN/UNET gap of the seed runs per measure, as the claims page states it (and check_seed_rule
    checks it): ``{"Jaccard": (mean gain of LRN, exceeds the spread)}``."""
    gaps = {}
    for _, text in found:
        for m in re.finditer(rf"(?P<metric>Jaccard|Hausdorff) gain of LRN over UNET per seed: [-+\d., ]+? (?:pp|px) "
                             rf"\(mean (?P<mean>{NUM})\); the larger std across seeds is {NUM} (?:pp|px): the gap "
                             rf"(?P<w>exceeds|does not exceed)", text):
            gaps[m["metric"]] = (float(m["mean"]), m["w"] == "exceeds")
    return gaps


def check_seed_finding(text, gaps):
    """Claims and the first page: "X is ahead on Jaccard by 5.38 pp (within the seed-to-seed spread)" and "the
    seed runs order LRN and UNET [as the paper's Table 1 does | the reverse way ...]", from the gaps the page states."""
    from lrnbook.pages import PAPER_TABLE1

    for m in re.finditer(rf"(?P<who>LRN|UNET) is ahead on (?P<metric>Jaccard|Hausdorff) by (?P<v>{NUM}) (?:pp|px) "
                         rf"\((?P<w>beyond|within) the seed-to-seed spread\)", text):
        mean, exceeds = gaps.get(m["metric"], (None, None))
        ok = (mean is not None and abs(abs(mean) - float(m["v"])) <= 0.011 and (m["who"] == "LRN") == (mean > 0)
              and (m["w"] == "beyond") == exceeds)
        yield m.span(), None if ok else m[0]
    paper = {"Jaccard": PAPER_TABLE1["lrn"]["jaccard"][0] - PAPER_TABLE1["unet"]["jaccard"][0],
             "Hausdorff": PAPER_TABLE1["unet"]["hausdorff"][0] - PAPER_TABLE1["lrn"]["hausdorff"][0]}
    same = {k: gaps[k][0] * paper[k] > 0 for k in paper if k in gaps}
    for m in re.finditer(r"(?:the seed runs|The seed runs) order LRN and UNET (?P<how>as the paper's Table 1 does on both "
                         r"measures|the reverse way from the paper's Table 1, where (?P<who>LRN|UNET) is ahead|as the "
                         r"paper does on (?P<a>Jaccard|Hausdorff) and the reverse way on (?P<b>Jaccard|Hausdorff))", text):
        if m["how"].startswith("as the paper's"):
            ok = len(same) == 2 and all(same.values())
        elif m["who"]:
            ok = len(same) == 2 and not any(same.values()) and m["who"] == ("LRN" if paper["Jaccard"] > 0 else "UNET")
        else:
            ok = same.get(m["a"]) is True and same.get(m["b"]) is False
        yield m.span(), None if ok else m[0]


def check_seed_levels(text):
    """Claims: "Mean over seeds ...: LRN a % and b px (paper c % and d px); UNET ... Both score worse than their rows
    of the paper on both measures." (or the one model that does)."""
    row = rf"(?P<name{{k}}>LRN|UNET) (?P<j{{k}}>{NUM}) % and (?P<h{{k}}>{NUM}) px \(paper (?P<pj{{k}}>{NUM}) % and (?P<ph{{k}}>{NUM}) px\)"
    for m in re.finditer(row.format(k=1) + "; " + row.format(k=2) + r"\.(?P<s> Both score worse than their rows of the "
                         r"paper on both measures\.| (?P<one>LRN|UNET) scores worse than its row of the paper on both "
                         r"measures\.|)", text):
        worse = [m[f"name{k}"] for k in (1, 2) if float(m[f"j{k}"]) < float(m[f"pj{k}"]) and float(m[f"h{k}"]) > float(m[f"ph{k}"])]
        said = [m["name1"], m["name2"]] if m["s"].startswith(" Both") else [m["one"]] if m["one"] else []
        yield m.span(), None if said == worse else m[0]


def check_squeeze_against(text):
    """Claims: "Against the baseline ..., the squeeze run is better than the baseline on both measures: Jaccard
    +3.72 pp (within twice the seed-to-seed std, 5.58 pp: may be seed noise); Hausdorff +29.81 px (beyond twice the
    seed-to-seed std, 10.24 px)." -- the direction words read the gains after them, and "beyond"/"within" read
    each gain against the twice-std beside it."""
    gain_re = rf"(?P<{{k}}>{NUM}) {{unit}} \((?P<{{k}}w>beyond|within) twice the seed-to-seed std, (?P<{{k}}s>{NUM}) {{unit}}[^)]*\)"
    for m in re.finditer(rf"[Aa]gainst the baseline on the same test photos, the squeeze run (?:is|shows) (?P<v>(?:mixed: )?[^:]+?): "
                         rf"Jaccard {gain_re.format(k='j', unit='pp')}; Hausdorff {gain_re.format(k='h', unit='px')}\.",
                         text):
        gain = {"Jaccard": float(m["j"]), "Hausdorff": float(m["h"])}
        v, ok = m["v"], True
        for word, sign in (("better", 1), ("worse", -1)):
            if v.startswith(f"{word} than the baseline on both measures"):
                ok &= all(g * sign > 0 for g in gain.values())
            for name in gain:
                if v.startswith(f"{word} on {name}") or f"{word} on {name}" in v.removeprefix("mixed: "):
                    ok &= gain[name] * sign > 0
        for k in "jh":
            ok &= (abs(float(m[k])) > float(m[f"{k}s"])) == (m[f"{k}w"] == "beyond")
        yield m.span(), None if ok else m[0]


CHECKS += [check_seed_levels, check_squeeze_against]


def check_squeeze_summary(text, verdicts):
    """Claims' summary: "The skip squeeze, tested at the seed runs' smaller setting: <its table's verdict>."."""
    for m in re.finditer(r"The skip squeeze, tested at the seed runs' smaller setting: (?P<v>[^\n]+)\.$", text, re.M):
        yield m.span(), None if m["v"] in verdicts else m[0]


def check_repeated_verdicts(text, verdicts):
    """A summary bullet "- <what>: <verdict>." whose verdict the page states (and checks) above."""
    for m in re.finditer(r"^- [^:\n]+: (?P<v>[^\n]+)\.$", text, re.M):
        if m["v"] in verdicts:
            yield m.span(), None


@pytest.mark.parametrize("page", executed_pages())
def test_every_direction_word_on_every_page_is_checked_and_agrees(page):
    unchecked, wrong = [], []
    found = outputs(page)
    verdicts = page_verdicts(found)
    seed_gaps = page_seed_gaps(found)
    claims = page_claims(found)
    for kind, text in found:
        if kind == "text/html":
            wrong += check_tables(text)
            continue
        spans = [span for span, _ in check_repeated_verdicts(text, verdicts)]
        for name, found_spans in (("check_squeeze_finding", check_squeeze_finding(text, verdicts)),
                                  ("check_squeeze_summary", check_squeeze_summary(text, verdicts)),
                                  ("check_seed_finding", check_seed_finding(text, seed_gaps)),
                                  ("check_claims_sentence", check_claims_sentence(text, claims))):
            for span, error in found_spans:
                spans.append(span)
                if error:
                    wrong.append(f"{name}: {error}")
        for check in CHECKS:
            for span, error in check(text):
                spans.append(span)
                if error:
                    wrong.append(f"{check.__name__}: {error}")
        for m in DIRECTION.finditer(text):
            if not any(a <= m.start() < b for a, b in spans):
                unchecked.append(text[max(0, m.start() - 80):m.end() + 40].replace("\n", " "))
    assert not wrong, f"{page}: sentences that disagree with their numbers:\n  " + "\n  ".join(wrong)
    assert not unchecked, (f"{page}: direction words that no check of tests/test_direction_words.py reads "
                           "(write one):\n  " + "\n  ".join(unchecked))


def test_the_checks_catch_a_wrong_word():
    bad = "- *EG1800*, cleaned, LRN vs MediaPipe: 90.00 vs 96.00 % Jaccard, better: LRN (gain of LRN -6.00, 95 % interval -7.00 to -5.00)."
    assert [e for _, e in check_versus(bad) if e]
    assert [e for _, e in check_versus(bad.replace("cleaned", "raw")) if e]
    assert [e for _, e in check_moves("the Hausdorff distance rises from 40.00 to 30.00 px")]
    shown = ("On 1 of the 2 photos shown the background opacity falls from *a* to *b* (CCP 1: 3.0 % → 1.0 %); "
             "it does not on CCP 2: 2.0 % → 2.5 %.")
    assert [e for _, e in check_shown_falls(shown) if not e] and not [e for _, e in check_shown_falls(shown) if e]
    assert [e for _, e in check_shown_falls(shown.replace("2.5 %", "1.5 %")) if e]
    assert [e for _, e in check_shown_falls(shown.replace("On 1 of", "On 2 of")) if e]
    assert [e for _, e in check_effects("EG1800: better, gain -2.00 px (95 % interval -3.00 to -1.00)")]
    assert not [e for _, e in check_effects("EG1800: worse, gain -2.00 px (95 % interval -3.00 to -1.00)") if e]
    good = ("- *EG1800*, cleaned, LRN vs MediaPipe: 30.00 vs 20.00 px Hausdorff, better: MediaPipe (gain of LRN "
            "-10.00, 95 % interval -12.00 to -8.00).")
    assert not [e for _, e in check_versus(good) if e] and [e for _, e in check_versus(good.replace("-10.00,", "+10.00,"))]
    assert [e for _, e in check_seed_rule("a mean gap of 5.00 pp in LRN's favour over 3 seeds, which exceeds the "
                                          "seed-to-seed spread (same sign for every seed: no; the larger std across "
                                          "seeds: 1.00 pp, and the gap must exceed twice that)")]
    gaps = {"Jaccard": (-5.38, False), "Hausdorff": (-33.56, True)}
    good = ("UNET is ahead on Jaccard by 5.38 pp (within the seed-to-seed spread); UNET is ahead on Hausdorff by "
            "33.56 px (beyond the seed-to-seed spread). On both measures the seed runs order LRN and UNET the reverse "
            "way from the paper's Table 1, where LRN is ahead.")
    assert not [e for _, e in check_seed_finding(good, gaps) if e] and len(list(check_seed_finding(good, gaps))) == 3
    assert [e for _, e in check_seed_finding(good.replace("(within", "(beyond"), gaps) if e]
    assert [e for _, e in check_seed_finding(good.replace("UNET is ahead on Jaccard", "LRN is ahead on Jaccard"), gaps) if e]
    assert [e for _, e in check_seed_finding(good, {"Jaccard": (5.38, False), "Hausdorff": (33.56, True)}) if e]
    levels = ("LRN 76.15 % and 80.39 px (paper 91.67 % and 32.84 px); UNET 81.53 % and 46.83 px (paper 89.25 % and "
              "35.18 px). Both score worse than their rows of the paper on both measures.")
    assert not [e for _, e in check_seed_levels(levels) if e] and [e for _, e in check_seed_levels(
        levels.replace("46.83 px (paper", "30.00 px (paper")) if e]
    against = ("Against the baseline on the same test photos, the squeeze run is better than the baseline on both "
               "measures: Jaccard +3.72 pp (within twice the seed-to-seed std, 5.58 pp: may be seed noise); "
               "Hausdorff +29.81 px (beyond twice the seed-to-seed std, 10.24 px).")
    assert not [e for _, e in check_squeeze_against(against) if e] and list(check_squeeze_against(against))
    assert [e for _, e in check_squeeze_against(against.replace("+3.72 pp", "-3.72 pp")) if e]
    assert [e for _, e in check_squeeze_against(against.replace("(within twice", "(beyond twice")) if e]
    assert [e for _, e in check_squeeze_against(against.replace("10.24 px", "70.24 px")) if e]
    mixed = against.replace("better than the baseline on both measures", "mixed: better on Hausdorff, worse on Jaccard")
    assert [e for _, e in check_squeeze_against(mixed) if e]
    trend = ("In the 10 epochs after the best one the training loss of s6 averaged 0.1613, 25 % below its mean over "
             "the 10 epochs up to the best (0.2162). The network was still fitting its training photos better when")
    assert list(check_training_trend(trend)) and not [e for _, e in check_training_trend(trend) if e]
    assert [e for _, e in check_training_trend(trend.replace("25 % below", "25 % above")) if e]
    assert [e for _, e in check_training_trend(trend.replace("0.1613", "0.2100").replace("25 %", "3 %")) if e]
    claims_row = ("<table><tr><th>claim</th><th>evidence here</th><th>verdict</th></tr><tr><td>c</td><td>A vs B: "
                  "Jaccard +1.00 pp [-1.00, +3.00], Hausdorff +2.00 px [+1.00, +3.00]</td><td>holds</td></tr></table>")
    assert check_tables(claims_row)


def test_the_intro_reads_the_papers_table_the_way_it_is():
    """The first page's sentence under its copy of the paper's Table 1 (written by hand: the numbers are the paper's)."""
    text = (REPO / "book" / "intro.md").read_text()
    rows = {m[0]: (float(m[1]), float(m[2])) for m in
            re.findall(r"^\| (LRN|LRN-VGG|UNET|UNET-VGG) +\| +([\d.]+) ± [\d.]+ \| +([\d.]+) ± [\d.]+ \|$", text, re.M)}
    assert len(rows) == 4
    sentence = re.search(r"Read from the table:(.*?)\n\n", text, re.S)[1].replace("\n", " ")
    assert "the LRN has the higher mean Jaccard index and the lower mean Hausdorff distance than the U-Net, both from " \
           "random weights and with ImageNet weights" in sentence
    for lrn, unet in (("LRN", "UNET"), ("LRN-VGG", "UNET-VGG")):
        assert rows[lrn][0] > rows[unet][0] and rows[lrn][1] < rows[unet][1]
    assert "LRN-VGG is the best row on both measures" in sentence
    assert max(rows, key=lambda r: rows[r][0]) == "LRN-VGG" == min(rows, key=lambda r: rows[r][1])


def test_the_claims_sentence_check_reads_the_claims_table():
    claims = {"A is best": "not settled: a 95 % interval includes zero", "B is second": "does not hold: settled",
              "E is small": "holds"}
    good = ("Of the paper's 3 claims about its Table 1, 1 holds (“E is small”), 1 does not hold (“B is second”), "
            "1 is not settled (“A is best”).")
    assert [e for _, e in check_claims_sentence(good, claims)] == [None]
    swapped = good.replace('(“E is small”)', '(“X”)').replace('(“B is second”)', '(“E is small”)')
    assert [e for _, e in check_claims_sentence(swapped, claims) if e]
    assert [e for _, e in check_claims_sentence(good.replace("1 holds", "2 hold"), claims) if e]
