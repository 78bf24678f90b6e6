#!/bin/bash
# docs/config.md must equal the reference generated from the schema. Regenerate it with
#   build/tests/config/mc_config_reference > docs/config.md
# If the modclust-mpi executable exists, its --config-reference must print the same text.
set -euo pipefail
doc="$MC_SRC/docs/config.md"
gen="$MC_BIN/tests/config/mc_config_reference"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$gen" > "$out"
if ! diff -u "$doc" "$out"; then
  echo "docs/config.md is stale: regenerate it with $gen > docs/config.md" >&2
  exit 1
fi
if [ -x "$MC_BIN/modclust-mpi" ]; then
  "$MC_BIN/modclust-mpi" --config-reference > "$out"
  if ! diff -u "$doc" "$out"; then
    echo "modclust-mpi --config-reference differs from docs/config.md" >&2
    exit 1
  fi
fi
echo "docs/config.md is up to date"
