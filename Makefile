# toremi: two commands do all set-up on a fresh machine.
#   make study   create .venv, install the pinned set, build the embedded corpus, run the whole study (tiny preset, CPU)
#   make test    create .venv if needed, then check export/clean and run every notebook test (countable summary line)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PRESET ?= tiny
RUN_DIR ?= runs/$(PRESET)
JOBS ?= 2

.PHONY: setup study figures test bench clean-runs lab
setup: $(VENV)/.installed

$(VENV)/.installed: settings.ini setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

study: setup  ## the whole study on the embedded default corpus
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(VENV)/bin/toremi study --preset $(PRESET) --run-dir $(RUN_DIR)

figures: setup  ## redraw every figure from saved results
	$(VENV)/bin/toremi figures --preset $(PRESET) --run-dir $(RUN_DIR)

test: setup  ## export/clean check + every notebook + smoke study; ends with pytest's "N passed" line
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest nbs/test_notebooks.py -n $(JOBS) --dist loadgroup -p no:cacheprovider -q -rfE

bench: setup  ## CPU benchmarks; each prints a table and writes bench/results/*.json
	for b in bench/*.py; do $(PY) $$b || exit 1; done

lab: setup  ## JupyterLab on the notebooks
	$(VENV)/bin/jupyter lab nbs
