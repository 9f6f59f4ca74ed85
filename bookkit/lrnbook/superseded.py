"""Earlier runs kept after a change of settings replaced them: what ``superseded/<name>/`` holds.

A profile's ``superseded`` list names the runs whose earlier run the book still shows, on the
training page of the run that replaced it (:func:`lrnbook.pages.read_superseded`).
"""

FOLDER = "superseded"
"""The folder, under a profile's runs folder, of the earlier runs."""

FILES = ("history.csv", "test_summary.json", "lost.json")
"""What ``superseded/<name>/`` keeps of an earlier run: its history (with provenance), its test
scores and its ledger of hours lost with training machines (:mod:`lrnbook.lost_work`)."""
