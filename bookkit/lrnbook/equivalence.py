"""Checked equivalences: a refactor of library code that was shown to compute the same results
keeps the keys of the stages that import it, so finished and running trainings stay current.

A stage's key hashes the normalised source of every module it imports (:mod:`lrnbook.keys`).
That is right for any change that could alter a result, and too strict for a pure refactor:
moving a helper into a shared module changes the sources but not one output. An
*equivalence record* (``equivalences.json`` beside this module) says so, with evidence:

* ``modules``: per module, its normalised-source hash (16 hex digits) ``before`` and ``after``
  the refactor; ``before`` is ``null`` for a module the refactor added;
* ``base``: the git commit holding the code before;
* ``check``: the name of the check that ran both codes (``tools/check_equivalence.py``) and
  ``evidence``: the digest of what each code computed, equal by construction of the record.

:func:`as_before` rewrites a stage's ``{module: hash}`` to the hashes before the refactor, but
only while *every* module of the record that the stage imports still has its ``after`` hash:
the next edit of any of them (or of a module not in the record) moves the key as usual.
A refactor that deletes a module cannot be recorded (the stages that imported it no longer say so).
Records apply newest first, so that a chain of refactors leads back to the oldest code.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

RECORDS = Path(__file__).with_name("equivalences.json")
"""The committed records, oldest first (a JSON list; absent = none)."""


@lru_cache(maxsize=1)
def records(path: Path = RECORDS) -> tuple[dict, ...]:
    """The equivalence records of ``path`` (see the module doc), oldest first."""
    try:
        return tuple(json.loads(path.read_text()))
    except FileNotFoundError:
        return ()


def applies(record: dict, hashes: dict[str, str]) -> bool:
    """True if ``hashes`` (``{module: hash}``) holds at least one module of ``record`` and every one
    it holds has its ``after`` hash."""
    shared = [m for m in record["modules"] if m in hashes]
    return bool(shared) and all(hashes[m] == record["modules"][m]["after"] for m in shared)


def as_before(hashes: dict[str, str], found: tuple[dict, ...] | None = None) -> dict[str, str]:
    """``hashes`` with every applicable record undone, newest record first: a module's ``after``
    hash becomes its ``before`` hash; a module the refactor added is dropped."""
    hashes = dict(hashes)
    for record in reversed(records() if found is None else found):
        if not applies(record, hashes):
            continue
        for module, change in record["modules"].items():
            if module not in hashes:
                continue
            if change["before"] is None:
                del hashes[module]
            else:
                hashes[module] = change["before"]
    return hashes
