#!/bin/bash
# Engine vs PyTorch, one thread each, in the same run: MLP and small-CNN inference over Fashion-MNIST test images,
# one MLP training epoch, SGEMM peak. Usage: bench/nn/run_bench.sh BUILD_DIR [CNN_IMAGES] [REPS] [ROUNDS]
# Writes bench/nn/results.txt (key=value lines) and prints a summary table.
set -eu
BUILD=${1:?usage: run_bench.sh BUILD_DIR [CNN_IMAGES] [REPS]}
CNN=${2:-1000}
REPS=${3:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
ROUNDS=${4:-3}
out=$HERE/results.txt
# The machine is shared: the two sides alternate for ROUNDS rounds and each figure is the best round's.
{
  echo "# $(date -u +%FT%TZ) $(nproc --all) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), best of $ROUNDS alternating rounds"
  for r in $(seq "$ROUNDS"); do
    "$BUILD/tests/nn/bench_nn" -cnn_images "$CNN" -reps "$REPS" | tr ' ' '\n'
    /usr/bin/python3 "$HERE/bench_torch.py" /usr/share/datasets/fashion-mnist "$CNN" "$REPS" | tr ' ' '\n'
  done
} > "$out.all"
# Best round: largest rates, smallest times.
awk -F= '/^#/ {print; next} NF == 2 { k = $1; v = $2 + 0
  low = (k ~ /seconds|loss/); if (!(k in best) || (low && v < best[k]) || (!low && v > best[k])) best[k] = v; order[k] = ++n }
  END { for (k in best) print k "=" best[k] }' "$out.all" | sort > "$out"
rm -f "$out.all"
get() { sed -n "s/^$1=//p" "$out"; }
printf '%-26s %12s %12s %8s\n' "measure" "modclust" "torch" "ratio"
for k in mlp_images_per_s cnn_images_per_s; do
  a=$(get $k); b=$(get torch_$k)
  printf '%-26s %12s %12s %8.2f\n' "$k" "$a" "$b" "$(echo "$a / $b" | bc -l)"
done
a=$(get mlp_train_epoch_seconds); b=$(get torch_mlp_train_epoch_seconds)
printf '%-26s %12s %12s %8.2f\n' "mlp_train_epoch_seconds" "$a" "$b" "$(echo "$a / $b" | bc -l)"
echo "GFLOP/s: mlp $(get mlp_gflops), cnn $(get cnn_gflops), train $(get mlp_train_epoch_gflops); sgemm 1024^3 peak $(get sgemm_1024_gflops)"
echo "(torch: mlp $(get torch_mlp_gflops), cnn $(get torch_cnn_gflops), train $(get torch_mlp_train_epoch_gflops))"
