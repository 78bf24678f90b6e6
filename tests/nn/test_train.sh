#!/bin/bash
# modclust-train end to end on a small Fashion-MNIST subset (a few seconds):
#  1. 141 steps reach >= 0.75 test accuracy (chance 0.10);
#  2. a second run with the same seed gives bitwise the same loss line and the same weights (h5diff);
#     the final evaluation on 2 ranks gives the same accuracy;
#  3. pruning ends at 0.90 +- 0.01 kernel sparsity; L2 and dropout run;
#  4. halves_same (label = the class of both halves) learns (>= 0.5) and halves runs; a CNN runs one epoch;
#  5. POLY regression reaches a test MSE below a quarter of predicting the mean;
#  6. config errors name file, line and key, in the words of modclust-mpi's configuration (one parser).
set -u
BIN=$MC_BIN/modclust-train
CFG=$MC_SRC/tests/nn/train_small.ini
DATA=/usr/share/datasets/fashion-mnist
if [ ! -f $DATA/train-images-idx3-ubyte.gz ]; then echo "no Fashion-MNIST (apt-get install dataset-fashion-mnist); skipping"; exit 0; fi
fail=0
die() { echo "FAIL: $*"; fail=1; }
acc() { sed -n 's/^test accuracy \([0-9.]*\).*/\1/p' "$1"; }
final() { grep '^final:' "$1" | sed 's/ time .*//'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a+0 >= b+0)}'; }

$BIN $CFG train.output=a.h5 > a.log 2>&1 || die "run a exited $?"
$BIN $CFG train.output=b.h5 > b.log 2>&1 || die "run b exited $?"
cat a.log | grep -E '^(epoch|test|final)'
ge "$(acc a.log)" 0.75 || die "test accuracy $(acc a.log) < 0.75"
[ "$(final a.log)" == "$(final b.log)" ] || die "runs differ: '$(final a.log)' vs '$(final b.log)'"
h5diff a.h5 b.h5 > /dev/null || die "weights of two runs with one seed differ"
$MC_MPIEXEC -n 2 $MC_MPI_FLAGS $BIN $CFG train.output=c.h5 > c.log 2>&1 || die "2-rank run exited $?"
[ "$(acc a.log)" == "$(acc c.log)" ] || die "2-rank accuracy $(acc c.log) differs from $(acc a.log)"
h5diff a.h5 c.h5 > /dev/null || die "weights trained under 2 ranks differ"

$BIN $CFG train.output=p.h5 train.prune=true train.l2=5e-5 train.dropout=0.2 > p.log 2>&1 || die "pruned run exited $?"
sp=$(sed -n 's/^final:.*sparsity \([0-9.]*\).*/\1/p' p.log)
ge "$sp" 0.89 && ge 0.91 "$sp" || die "pruned sparsity $sp not 0.90"
grep '^final' p.log

$BIN $CFG train.output=h.h5 train.variant=halves_same > h.log 2>&1 || die "halves_same exited $?"
ge "$(acc h.log)" 0.5 || die "halves_same accuracy $(acc h.log) < 0.5"
$BIN $CFG train.output=h2.h5 train.variant=halves train.epochs=1 > h2.log 2>&1 || die "halves exited $?"
$BIN $CFG train.output=cnn.h5 train.arch=cnn train.widths=8,8,8,16 train.epochs=1 train.n_train=500 train.n_test=200 > cnn.log 2>&1 || die "cnn exited $?"
$BIN $CFG train.output=rgb.h5 train.variant=rgb train.epochs=1 > rgb.log 2>&1 || die "rgb exited $?"
grep -q '28x28x3' rgb.log || die "rgb variant is not 28x28x3"
echo "halves_same $(acc h.log), halves $(acc h2.log), cnn $(acc cnn.log), rgb $(acc rgb.log)"

# POLY regression: test MSE well below the predict-the-mean baseline.
$BIN $CFG train.output=poly.h5 train.variant=poly train.widths=128,128 train.n_train=4000 train.n_test=500 train.epochs=8 train.batch=32 > poly.log 2>&1 || die "poly exited $?"
mse=$(sed -n 's/^test mse \([0-9.e+-]*\) (predicting the mean: \([0-9.e+-]*\)).*/\1 \2/p' poly.log)
echo "poly test mse / baseline: $mse"
awk -v a="${mse% *}" -v b="${mse#* }" 'BEGIN{exit !(a > 0 && a < 0.25 * b)}' || die "poly mse $mse not below a quarter of the baseline"

printf '[train]\nepochs = 3\nepochs = 4\n' > dup.ini
$BIN dup.ini > dup.log 2>&1 && die "duplicate key accepted"
grep -q "dup.ini:3: duplicate key 'epochs' in \[train\]" dup.log || die "bad duplicate message: $(cat dup.log)"
printf '[train]\nepoch = 3\n' > unk.ini
$BIN unk.ini > unk.log 2>&1 && die "unknown key accepted"
grep -q "unk.ini:2: unknown key 'epoch' in \[train\]; did you mean 'epochs'?" unk.log || die "bad unknown-key message: $(cat unk.log)"
$BIN $CFG train.batch=0 > rng.log 2>&1 && die "batch 0 accepted"
grep -q 'command line: train.batch = 0 is out of range \[1, 100000\]' rng.log || die "bad range message: $(cat rng.log)"
exit $fail
