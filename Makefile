# toremi: two commands do all set-up on a fresh machine.
#   make study   create .venv, install the pinned set, build the embedded corpus, run the core study (tiny preset, CPU), draw figures/
#   make test    create .venv if needed, then check export/clean and run every notebook test (countable summary line)
# then, optionally:
#   make docs    the documentation site into _docs/ (offline); make docs-check loads every page in headless Chromium
#   make study-extra   the extra baselines and the ToReMi ablations on the same run directory (after make study), figures/ again
#   make study PRESET=gpu && make study-extra PRESET=gpu   the same on one GPU (GPT-2 124M, GPT-2 BPE, the whole corpus)
#   make study BUDGET=480   a sitting of at most 480 s: what fits, a checkpoint, then stop (exit 0); the same command again continues
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PRESET ?= tiny
RUN_DIR ?= runs/$(PRESET)
JOBS ?= 2

.PHONY: setup study study-extra figures test bench clean-runs lab docs docs-check docs-serve
setup: $(VENV)/.installed

$(VENV)/.installed: settings.ini setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name python3 > /dev/null  # the kernel name nbdev_clean writes: JupyterLab opens a notebook unmodified
	touch $@

study: setup  ## the core study on the embedded default corpus; figures and tables into figures/
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(VENV)/bin/toremi study --preset $(PRESET) --run-dir $(RUN_DIR) --figures-dir figures $(if $(BUDGET),--time-budget $(BUDGET))

study-extra: setup  ## extra baselines and ToReMi ablations (after make study); figures and tables into figures/
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(VENV)/bin/toremi study-extra --preset $(PRESET) --run-dir $(RUN_DIR) --figures-dir figures $(if $(BUDGET),--time-budget $(BUDGET))

figures: setup  ## redraw every figure and table from saved results into figures/ (never retrains)
	$(VENV)/bin/toremi figures --preset $(PRESET) --run-dir $(RUN_DIR) --figures-dir figures

# one thread per process everywhere (numpy/MKL/OpenMP, torch, the study's workers): a machine with more cores takes the same kernel paths as CI
TEST_THREADS := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 TOREMI_THREADS=1

test: setup  ## export/clean check + every notebook + smoke study; ends with pytest's "N passed" line
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(TEST_THREADS) $(PY) -m pytest nbs/test_notebooks.py nbs/test_docs.py -n $(JOBS) --dist loadgroup -p no:cacheprovider -q -rfE

bench: setup  ## CPU benchmarks; each prints a table and writes bench/results/*.json
	for b in bench/*.py; do $(PY) $$b || exit 1; done

lab: setup  ## JupyterLab on the notebooks (Jupyter refuses root without --allow-root: added when run as root)
	$(VENV)/bin/jupyter lab nbs $(if $(filter 0,$(shell id -u)),--allow-root)

# the documentation site: docs/build.py stages nbs/index.ipynb (executed), every notebook, the API pages, docs/*.md,
# RESULTS.md and figures/ into _proc/docs and runs mkdocs (material + mkdocs-jupyter) into _docs/; nothing online.
# EXECUTED=runs/tiny shows the study notebooks as executed in that run directory instead of as committed.
docs: setup  ## the documentation site into _docs/ (open _docs/index.html or `make docs-serve`)
	NO_MKDOCS_2_WARNING=1 $(PY) docs/build.py $(if $(EXECUTED),--executed $(EXECUTED))

docs-check: docs  ## serve _docs/ locally and load every page in headless Chromium (Debian's chromium, installed with apt when missing)
	@$(if $(CHROMIUM),true,command -v chromium >/dev/null) || { echo "installing Debian's chromium (apt-get)"; apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
	  || { echo "docs-check: Chromium is missing and apt-get could not install it: run 'apt-get install -y chromium' as root, or pass CHROMIUM=/path/to/chromium"; exit 2; }
	$(PY) docs/check.py $(if $(CHROMIUM),--chromium $(CHROMIUM))

docs-serve:  ## serve the built site on http://127.0.0.1:8000
	$(PY) -m http.server -d _docs -b 127.0.0.1 8000
