#!/usr/bin/env bash
# Make what a GPU sitting carries (on a machine that reaches the package registries, after the data stages):
#   gpu/carry.sh RUN_DIR [CARRY]     RUN_DIR: a prepared run directory (`toremi study --preset gpu --prepare-only`)
# writes CARRY (default gpu/carry): data.tar.xz (`toremi pack`), wheels/ (gpu/wheels.txt, fetched and built with pip wheel), and
# results-*.tar.xz already there stay (earlier sittings' results packs: the next sitting merges them first).
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_DIR=${1:?usage: gpu/carry.sh RUN_DIR [CARRY]}
CARRY=${2:-gpu/carry}
PY=${PY:-.venv/bin/python}
mkdir -p "$CARRY/wheels"
[ -f "$CARRY/data.tar.xz" ] || "$(dirname "$PY")/toremi" pack "$RUN_DIR" "$CARRY/data.tar.xz"
"$PY" -m pip wheel -q --disable-pip-version-check --no-deps -w "$CARRY/wheels" -r gpu/wheels.txt   # wheels, built where a package ships only a source archive (rouge-score, sqlitedict, word2number)
du -sh "$CARRY"/data.tar.xz "$CARRY"/wheels
echo "carry: $(du -sm "$CARRY" | cut -f1) MiB in $CARRY (a command may send 64 MiB)"
