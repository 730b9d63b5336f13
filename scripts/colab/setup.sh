#!/usr/bin/env bash
# Install exoextract into a Colab runtime (or any machine's Python) and compile its numba
# kernels once, so the first run does not pay for it.
#   !bash exoextract/scripts/colab/setup.sh
# PYTHON picks the interpreter (default python3); EXOEXTRACT_NO_PINS=1 installs without the
# tested version pins in constraints.txt (only if they clash with something you need).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
python="${PYTHON:-python3}"

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup.sh: exoextract needs Python >= 3.11, but $python is $("$python" -V 2>&1 || echo 'not found') — set PYTHON=python3.11 (or newer)" >&2
  exit 2
fi
pins=(-c "$repo/constraints.txt")
if [ "${EXOEXTRACT_NO_PINS:-0}" = 1 ]; then pins=(); fi

echo "setup.sh: installing exoextract from $repo with $("$python" -V 2>&1)"
"$python" -m pip install --quiet "${pins[@]}" -e "$repo"
echo "setup.sh: compiling the search kernels (once per runtime)"
"$python" -c "from transitleastsquares.warmup import warmup; warmup(verbose=False)"
"$python" -c "from exoextract.science.search.ffa import warmup; warmup()"
"$python" -m exoextract --version
echo "setup.sh: ready — run: bash $repo/scripts/colab/run.sh TARGETS.csv /content/drive/MyDrive/exoextract/RUN"
