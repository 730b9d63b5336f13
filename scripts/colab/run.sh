#!/usr/bin/env bash
# Run exoextract to completion from a notebook cell, across crashes and runtime resets.
#   !bash exoextract/scripts/colab/run.sh targets.csv /content/drive/MyDrive/exoextract/koi [run options]
#
# The run folder (OUT_DIR) should be on Google Drive: checkpoints survive a reset there.
# If OUT_DIR already holds a run, it is resumed (the extra options are for a new run only;
# a resume keeps the run's settings). "Complete" is read from the run folder (its
# manifest's status), never from an exit code alone. Until the run is complete, an
# incomplete end or a killed exoextract (out of memory) is resumed after a pause; a user
# error (exit 2), an unwritable checkpoint (3), a crash (70: a bug, reported with its
# traceback), a command that cannot start (126, 127: not installed in this runtime) or a
# stop by Ctrl-C / the stop button (130, 143) ends the loop at once.
#
# Environment: EXOEXTRACT_CONFIG (default configs/colab-free.toml), EXOEXTRACT_CACHE_DIR
# (default /content/lightkurve-cache: the local disk, fast and expendable; never Drive),
# EXOEXTRACT_MAX_ATTEMPTS (default 20), EXOEXTRACT_RETRY_DELAY seconds (default 30),
# EXOEXTRACT_BIN (default: exoextract).
set -uo pipefail
if [ $# -lt 2 ]; then
  echo "usage: run.sh TARGETS.csv OUT_DIR [exoextract run options]" >&2
  exit 2
fi
targets="$1"
out="$2"
shift 2
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
config="${EXOEXTRACT_CONFIG:-$repo/configs/colab-free.toml}"
cache="${EXOEXTRACT_CACHE_DIR:-/content/lightkurve-cache}"
attempts="${EXOEXTRACT_MAX_ATTEMPTS:-20}"
delay="${EXOEXTRACT_RETRY_DELAY:-30}"
read -r -a exo <<< "${EXOEXTRACT_BIN:-exoextract}"

say() { echo "run.sh: $*"; }
# the run folder's own word on its state: complete, interrupted, running (or nothing)
state() {
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("status", ""))' \
    "$out/manifest.json" 2>/dev/null || echo ""
}

attempt=1
while :; do
  if [ -f "$out/manifest.json" ]; then
    say "attempt $attempt: resuming $out"
    "${exo[@]}" resume "$out"
  else
    if [ ! -f "$targets" ]; then
      say "no such targets file: $targets — check the path (is Drive mounted?)" >&2
      exit 2
    fi
    say "attempt $attempt: starting $out from $targets"
    mkdir -p "$cache"
    "${exo[@]}" run "$targets" --out "$out" --config "$config" --cache-dir "$cache" "$@"
  fi
  code=$?
  if [ "$(state)" = complete ]; then
    case "$code" in
      0) say "complete: $out/features.parquet — see: exoextract status $out"; exit 0 ;;
      1) say "complete, some targets did not succeed (--strict) — see: exoextract status $out"; exit 1 ;;
      6) say "complete, but no target succeeded: see the line above" >&2; exit 6 ;;
    esac
  fi
  case "$code" in
    2) say "stopped: fix the error above, then run this cell again" >&2; exit 2 ;;
    3) say "stopped: a checkpoint could not be written (Drive full or unmounted?) — fix it, then run this cell again" >&2; exit 3 ;;
    126 | 127)
      say "stopped: '${exo[*]}' could not be started (exit $code: not installed in this runtime?) — run setup.sh in this runtime (cell 2), then run this cell again" >&2
      exit "$code" ;;
    130 | 143) say "stopped by you; run this cell again to continue" >&2; exit "$code" ;;
    70) say "stopped: exoextract crashed (a bug, traceback above); finished work is kept — report it, then run this cell again" >&2; exit 70 ;;
  esac
  if [ "$attempt" -ge "$attempts" ]; then
    say "gave up after $attempt attempts (last exit $code) — run this cell again to continue" >&2
    exit "$code"
  fi
  say "exoextract ended with exit $code (incomplete or killed); resuming in $delay s"
  sleep "$delay"
  attempt=$((attempt + 1))
done
