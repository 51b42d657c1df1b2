# deepimg: `make install`, then `make test`. `make help` lists every target.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
FMNIST := /usr/share/datasets/fashion-mnist
export NO_ALBUMENTATIONS_UPDATE := 1
# Install a Debian package, refreshing the package lists only when the install needs it:
# `make install` wants two packages and should not run `apt-get update` twice.
APT_INSTALL = DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) 2>/dev/null \
  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1))

.PHONY: help install data browser test test-fast lint bench docs docs-serve clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: $(BIN)/deepimg data browser  ## create .venv with torch (CPU), deepimg, its launchers, sweepers, trackers and dev tools, the data and Chromium

$(BIN)/deepimg: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and pinned: it lies on this machine's disk; an unpinned torch pulls a multi-GB CUDA build
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,sweep,track,docs]'
	@touch $@

data:  ## install Debian's Fashion-MNIST package when apt is available and the data is absent
	@if [ -f $(FMNIST)/train-images-idx3-ubyte.gz ]; then echo "Fashion-MNIST: $(FMNIST)"; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  ($(call APT_INSTALL,dataset-fashion-mnist)) >/dev/null && echo "Fashion-MNIST installed in $(FMNIST)"; \
	else echo "no apt: deepimg downloads Fashion-MNIST on first use (or set dataset.root)"; fi

browser:  ## install Debian's chromium when apt is available: the test that renders the report page uses it
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then \
	  echo "Chromium: $$(command -v chromium || command -v chromium-browser)"; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  ($(call APT_INSTALL,chromium)) >/dev/null 2>&1 \
	    && echo "Chromium installed" || echo "Chromium could not be installed: the browser test will be skipped"; \
	else echo "no apt: without Chromium the browser test is skipped"; fi

test:  ## run the whole test suite, on both cores (CPU only)
	$(BIN)/pytest -q -n 2

test-fast:  ## the fast tier: every test but the end-to-end ones marked slow
	$(BIN)/pytest -q -n 2 -m "not slow"

lint:  ## ruff: style and common bugs
	$(BIN)/ruff check deepimg tests scripts
	$(BIN)/ruff format --check deepimg tests scripts

bench:  ## time deepimg's training loop against a hand-written one, what surrounds it, and deepimg info
	$(BIN)/python scripts/bench_train.py
	$(BIN)/python scripts/bench_startup.py
	$(BIN)/python scripts/bench_info.py

docs:  ## build the manual (docs/, MkDocs) into site/, strict: a broken link fails it
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

docs-serve:  ## serve the manual at http://127.0.0.1:8000, rebuilt as docs/ changes
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

clean:  ## remove the virtual environment and caches (never outputs/)
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist *.egg-info
