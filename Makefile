# toremi: two commands do all set-up on a fresh machine.
#   make study   create .venv, install the pinned set, build the embedded corpus, run the core study (tiny preset, CPU), draw figures/
#   make test    create .venv if needed, then check export/clean and run every notebook test (countable summary line)
# then, optionally:
#   make study-extra   the extra baselines and the ToReMi ablations on the same run directory (after make study), figures/ again
#   make study PRESET=gpu && make study-extra PRESET=gpu   the same on one GPU (GPT-2 124M, GPT-2 BPE, the whole corpus)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PRESET ?= tiny
RUN_DIR ?= runs/$(PRESET)
JOBS ?= 2

.PHONY: setup study study-extra figures test bench clean-runs lab
setup: $(VENV)/.installed

$(VENV)/.installed: settings.ini setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name python3 > /dev/null  # the kernel name nbdev_clean writes: JupyterLab opens a notebook unmodified
	touch $@

study: setup  ## the core study on the embedded default corpus; figures and tables into figures/
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(VENV)/bin/toremi study --preset $(PRESET) --run-dir $(RUN_DIR) --figures-dir figures

study-extra: setup  ## extra baselines and ToReMi ablations (after make study); figures and tables into figures/
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(VENV)/bin/toremi study-extra --preset $(PRESET) --run-dir $(RUN_DIR) --figures-dir figures

figures: setup  ## redraw every figure and table from saved results into figures/ (never retrains)
	$(VENV)/bin/toremi figures --preset $(PRESET) --run-dir $(RUN_DIR) --figures-dir figures

# one thread per process everywhere (numpy/MKL/OpenMP, torch, the study's workers): a machine with more cores takes the same kernel paths as CI
TEST_THREADS := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 TOREMI_THREADS=1

test: setup  ## export/clean check + every notebook + smoke study; ends with pytest's "N passed" line
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(TEST_THREADS) $(PY) -m pytest nbs/test_notebooks.py -n $(JOBS) --dist loadgroup -p no:cacheprovider -q -rfE

bench: setup  ## CPU benchmarks; each prints a table and writes bench/results/*.json
	for b in bench/*.py; do $(PY) $$b || exit 1; done

lab: setup  ## JupyterLab on the notebooks
	$(VENV)/bin/jupyter lab nbs
