"""Every work a page cites is in the references, and no two references read alike.

Reads the book's sources as the book renders them: the chapters (``book/*.md``) and the
executed cpu pages (their markdown cells and every text output). Two kinds of citation:

* roles, ``{cite:p}`key``` and ``{cite:t}`a,b```: every key is an entry of ``book/references.bib``;
* citations in words, as computed outputs write them (``Yang et al., 2014``, ``Pinto and
  Cardoso, 2019``, ``Shen et al. (2016)``): a reference with that first author and year exists,
  and so is listed on the references page once some page cites it with a role.

Author-year labels must tell works apart: two entries with the same first author and year
carry ``2017a`` / ``2017b``.
"""
import html
import json
import re
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIB = REPO / "book" / "references.bib"
ROLE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
IN_WORDS = re.compile(r"\b([A-Z][A-Za-z\u00C0-\u017F'-]+)(?: et al\.| (?:and|&) [A-Z][A-Za-z\u00C0-\u017F'-]+)?,? "
                      r"\(?((?:19|20)\d\d[a-z]?)\b")
NOT_AUTHORS = {"RECPAD", "CVPR", "MICCAI", "Python", "Table", "Fig", "EG1800", "CCP", "LFW", "In", "December", "Since"}


def bib_entries() -> dict[str, tuple[str, str]]:
    """``{key: (first author's surname, year)}`` of every entry of the bibliography."""
    entries = {}
    for key, body in re.findall(r"@\w+\{([^,]+),(.*?)\n\}", BIB.read_text(), re.S):
        author = re.search(r"author\s*=\s*\{(.*?)\},?\n", body, re.S)
        year = re.search(r"year\s*=\s*\{(.*?)\}", body)
        surname = author.group(1).split(" and ")[0].split(",")[0].strip(" {}") if author else key
        entries[key.strip()] = (surname.replace("{\\~a}", "ã"), year.group(1) if year else "")
    return entries


def page_texts() -> dict[str, str]:
    """Every page's text as written (chapters) or as executed (notebook markdown and outputs)."""
    texts = {str(p.relative_to(REPO)): p.read_text() for p in sorted((REPO / "book").glob("*.md"))}
    for path in sorted((REPO / "notebooks" / "runs" / "cpu").glob("*.ipynb")):
        parts = []
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "markdown":
                parts.append("".join(cell["source"]))
            for output in cell.get("outputs", []):
                for kind in ("text/markdown", "text/html", "text/plain"):
                    if kind in output.get("data", {}):
                        value = output["data"][kind]
                        text = "".join(value) if isinstance(value, list) else value
                        parts.append(html.unescape(re.sub(r"<[^>]+>", " ", text)) if kind == "text/html" else text)
                if output.get("output_type") == "stream":
                    parts.append("".join(output["text"]))
        texts[str(path.relative_to(REPO))] = "\n".join(parts)
    return texts


def test_the_reader_finds_every_cited_key_in_the_references():
    keys = set(bib_entries())
    missing = [f"{page}: {key}" for page, text in page_texts().items()
               for group in ROLE.findall(text) for key in (k.strip() for k in group.split(","))
               if key not in keys]
    assert not missing, "cited but not in book/references.bib:\n  " + "\n  ".join(missing)


def test_citations_in_words_name_a_listed_reference():
    entries = bib_entries()
    known = {(surname, year) for surname, year in entries.values()}
    known_years = {(surname, year.rstrip("abc")) for surname, year in entries.values()}
    cited_keys = {key.strip() for text in page_texts().values() for group in ROLE.findall(text)
                  for key in group.split(",")}
    listed = {entries[k] for k in cited_keys if k in entries}
    bad, checked = [], 0
    for page, text in page_texts().items():
        for surname, year in IN_WORDS.findall(text):
            if surname in NOT_AUTHORS:
                continue
            checked += 1
            if (surname, year) not in known and (surname, year) not in known_years:
                bad.append(f"{page}: {surname} ... {year} is not in book/references.bib")
            elif not any(s == surname and y.rstrip("abc") == year.rstrip("abc") for s, y in listed):
                bad.append(f"{page}: {surname} ... {year} is in the bibliography but no page cites it with a role, "
                           "so the references page does not list it")
    assert checked > 0, "no citation in words found: the pattern no longer matches the pages"
    assert not bad, "\n  ".join(["citations in words that the references do not list:", *bad])


def test_author_year_labels_tell_the_works_apart():
    labels = Counter(bib_entries().values())
    assert not [label for label, n in labels.items() if n > 1], \
        f"two references would read alike (add a/b to their years): {[l for l, n in labels.items() if n > 1]}"


@pytest.mark.parametrize("text, keys", [("{cite:p}`a2019,b2020`", ["a2019,b2020"]), ("{cite:t}`x`", ["x"])])
def test_the_role_pattern(text, keys):
    assert ROLE.findall(text) == keys
