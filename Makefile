# lrn-book: every command installs what it needs into .venv by itself.
#   make book [PROFILE=cpu]        execute only the missing stages (and re-render pages whose
#                                  markdown alone changed), then build _build/html; stale pages
#                                  are rendered with a visible notice
#   make reproduce [PROFILE=..]    re-execute the stale stages (FORCE=1: all), then build
#   make train [MINUTES=150]       train the profile's stale or unfinished fits, in its queue order, for
#                                  at most MINUTES (stops at an epoch boundary), then score them;
#                                  run it again to go on
#   make book-status [PROFILE=..]  every stage (fit, score, page), its key and state, and why a
#                                  stale one is stale; exit 1 if one is not current
#   make model                     train the cut-out candidates (once), choose on validation photos,
#                                  install the chosen model in the package (lrn.pretrained())
#   make test                      the test suite (builds the book from the committed runs and
#                                  tests it in headless Chromium)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROFILE ?= cpu
# The install is redone whenever pyproject.toml changes.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml bookkit/pyproject.toml | sha1sum | cut -c1-12)

MINUTES ?= 150

.PHONY: install test book reproduce book-status train bench demo model whitening clean

install: $(STAMP)

$(STAMP): pyproject.toml bookkit/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,book]" -e ./bookkit
	@# numba compiles PyMatting's kernels on its first import (about a minute) and caches them: once, here
	$(BIN)/python -c "import pymatting"
	bash tools/setup_browser.sh
	@rm -f $(VENV)/.installed-* && touch $@

book: install
	$(BIN)/python -m lrnbook execute --profile $(PROFILE) --no-stale
	PROFILE=$(PROFILE) bash tools/build_book.sh

reproduce: install
	$(BIN)/python -m lrnbook execute --profile $(PROFILE) $(if $(FORCE),--force,)
	PROFILE=$(PROFILE) bash tools/build_book.sh

# Table 1's runs train for hours on 2 cores: this trains the fits that are stale, unfinished or
# queued for at most MINUTES and records where each stands (progress stays in the cache; a
# finished first stage of a -VGG run is also parked in notebooks/runs/$(PROFILE)/parked/, and the
# best epoch so far of a long unfinished stage in parked/progress/ (lrnbook.progress_parks): commit
# them; a cache that lost a run gets it back from there first). Run it again to go on. Finished
# runs write their predictions and are scored; the loss curves of unfinished ones are copied to
# curves/ (lrnbook.curves) for their pages.
train: install
	$(BIN)/python -m lrnbook.progress_parks restore --profile $(PROFILE)
	$(BIN)/python -m lrnbook execute --profile $(PROFILE) --only 'fit/*' --minutes $(MINUTES)
	$(BIN)/python -m lrnbook.progress_parks park --profile $(PROFILE)
	$(BIN)/python -m lrnbook.curves --profile $(PROFILE)
	$(BIN)/python -m lrnbook execute --profile $(PROFILE) --only 'score/*'


book-status: install
	@$(BIN)/python -m lrnbook status --profile $(PROFILE)

# The book is built from the committed cpu runs (nothing is executed) and tested in Chromium.
# The tests run in TEST_WORKERS processes (pytest-xdist), a test file to a process: most tests
# wait on start-up, files and the browser more than on arithmetic, so two share two cores well.
TEST_WORKERS ?= 2
test: install
	PROFILE=cpu bash tools/build_book.sh
	PROFILE=cpu $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# Speed benchmarks (never part of make test): prints tables and ratios, writes benchmarks/results.json,
# benchmarks/whiten_startup.json (lrn whiten start-up against the command before LiteRT) and
# benchmarks/tryit_browser.json (the Try-it page's model in Chromium against Python LiteRT; builds the book).
bench: install
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/whiten_startup.py
	PROFILE=cpu bash tools/build_book.sh
	$(BIN)/python benchmarks/tryit_browser.py

# The model shipped inside the package (lrn.pretrained(), lrn whiten's default): the cut-out
# candidates of params/$(PROFILE).yaml trained through the pipeline (once; about 95 min each on
# 2 cores), the choice made on validation photos by page/cutout, the chosen model installed in
# lrn/pretrained/.
model: install
	$(BIN)/python -m lrnbook ship --profile $(PROFILE)

# Choose again what lrn whiten does to the shipped model's map (make model does it for a model it installs).
whitening: install
	$(BIN)/python -m lrnbook whitening

# A short end-to-end run on real EG1800 data: train a small LRN for a few epochs, score it.
demo: install
	$(BIN)/lrn train --variant lrn --size 128 --width 0.25 --epochs 3 --lr 1e-3 -o _build/demo

clean:
	rm -rf _build .pytest_cache
