#!/bin/bash
# docs/training-config.md must equal modclust-train's reference generated from src/train/train.def.
# Regenerate it with  build/modclust-train --config-reference > docs/training-config.md
set -euo pipefail
doc="$MC_SRC/docs/training-config.md"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "$MC_BIN/modclust-train" --config-reference > "$out"
if ! diff -u "$doc" "$out"; then
  echo "docs/training-config.md is stale: regenerate it with $MC_BIN/modclust-train --config-reference > docs/training-config.md" >&2
  exit 1
fi
echo "docs/training-config.md is up to date"
