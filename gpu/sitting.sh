#!/usr/bin/env bash
# One sitting of the study on a machine that keeps nothing and reaches no registry (a GPU lent for minutes):
#   gpu/sitting.sh [BUDGET_SECONDS]          (default 480)
# needs only this working tree and what gpu/carry.sh put in CARRY (default gpu/carry): the wheels, the data pack, and
# the results packs of earlier sittings. It installs the wheels offline, unpacks the data, merges the earlier results,
# runs `toremi study --time-budget` (no figures: they are drawn at home from the merged results), and writes this
# sitting's results pack into OUT (default $OUT, else gpu/out). Bring it home, put it into CARRY for the next sitting,
# or merge it at home: `toremi unpack OUT/results-*.tar.xz runs/gpu`.
# Environment: PRESET (gpu), PART (core or extra), RUN_DIR (runs/$PRESET), PYTHON (python3), CARRY, OUT, EXTRA (more study flags).
set -euo pipefail
cd "$(dirname "$0")/.."
BUDGET=${1:-480}
PRESET=${PRESET:-gpu}
PART=${PART:-core}
RUN_DIR=${RUN_DIR:-runs/$PRESET}
PYTHON=${PYTHON:-python3}
CARRY=${CARRY:-gpu/carry}
OUT=${OUT:-gpu/out}
mkdir -p "$OUT"
t0=$(date +%s)
say() { echo "sitting: $* ($(( $(date +%s) - t0 ))s)"; }

# 1. the carried wheels, offline; toremi itself from this tree (on the path, not installed)
"$PYTHON" -m pip install -q --disable-pip-version-check --no-index --find-links "$CARRY/wheels" "$CARRY"/wheels/*.whl
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOREMI_PROGRESS=0
toremi() { "$PYTHON" -c 'import sys; from toremi.cli import main; sys.exit(main())' "$@"; }
say "wheels installed"

# 2. the data (once per machine), then the results of earlier sittings
if [ ! -f "$RUN_DIR/pack.json" ]; then toremi unpack "$CARRY/data.tar.xz" "$RUN_DIR"; say "data unpacked"; fi
packs=("$CARRY"/results-*.tar.xz)   # the newest holds every run finished so far; merging older ones too changes nothing
if [ -f "${packs[0]}" ]; then
  "$PYTHON" -c 'import sys
from toremi.core import ToremiError
from toremi.pack import unpack
try: [unpack(a, sys.argv[1]) for a in sys.argv[2:]]
except ToremiError as e: sys.exit(f"sitting: {e}")' "$RUN_DIR" "${packs[@]}"
  say "merged ${#packs[@]} results pack(s)"
fi

# 3. the study for what is left of the budget (the install and unpack above count)
left=$(( BUDGET - ($(date +%s) - t0) ))
[ "$left" -gt 0 ] || { echo "sitting: no time left after the install and unpack (budget ${BUDGET}s)" >&2; exit 2; }
cmd=study; [ "$PART" = extra ] && cmd=study-extra
toremi "$cmd" --preset "$PRESET" --run-dir "$RUN_DIR" --no-figures --time-budget "$left" ${EXTRA:-}

# 4. the results, home-bound
stamp=$(date +%Y%m%d-%H%M%S)
toremi pack --results "$RUN_DIR" "$OUT/results-$stamp.tar.xz"
say "results pack $OUT/results-$stamp.tar.xz ($(du -k "$OUT/results-$stamp.tar.xz" | cut -f1) KiB)"
