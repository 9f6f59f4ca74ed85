# lrn-book: every command installs what it needs into .venv by itself.
#   make book    build the HTML book into _build/html (executes only missing notebook runs)
#   make test    run the test suite (builds the book from committed runs, tests it in Chromium)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROFILE ?= cpu
# The install is redone whenever pyproject.toml changes.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: install test book demo clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,book]"
	bash tools/setup_browser.sh
	@rm -f $(VENV)/.installed-* && touch $@

book: install
	bash tools/build_book.sh

test: install
	bash tools/build_book.sh
	$(BIN)/python -m pytest

# A short end-to-end run on real EG1800 data: train a small LRN for a few epochs, score it.
demo: install
	$(BIN)/lrn train --variant lrn --size 128 --width 0.25 --epochs 3 --lr 1e-3 -o _build/demo

clean:
	rm -rf _build .pytest_cache
