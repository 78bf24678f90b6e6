#!/usr/bin/env bash
# tools/fuzz.sh: run one fuzzing harness of tests/fuzz with clang's libFuzzer, AddressSanitizer and UBSan.
#   bash tools/fuzz.sh NAME SECONDS     NAME: config safetensors keras native onnx idx h5data
# Builds ./build-fuzz (CC=clang, -DMC_FUZZ=ON), makes the seed corpus (tests/fuzz/make_corpus.py) into
# build-fuzz/corpus/NAME, then fuzzes for SECONDS on one process, growing the corpus there. Findings
# (crash-*, leak-*, timeout-*) land in build-fuzz/findings/NAME; the summary line gives executions.
# Environment: FUZZ_BUILD_DIR, FUZZ_ARGS (extra libFuzzer flags, e.g. -jobs=2).
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:-}
secs=${2:-600}
case $name in config | safetensors | keras | native | onnx | idx | h5data) ;; *)
  echo "usage: bash tools/fuzz.sh config|safetensors|keras|native|onnx|idx|h5data SECONDS" >&2
  exit 2 ;;
esac
B=${FUZZ_BUILD_DIR:-build-fuzz}
for p in clang libclang-rt-14-dev; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    sudo_cmd=""
    [[ $(id -u) == 0 ]] || sudo_cmd="sudo"
    $sudo_cmd apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null
    break
  fi
done
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
# One build and one corpus for all: harnesses run side by side wait here for each other.
mkdir -p "$B"
exec 9>"$B/.fuzz.lock"
flock 9
CC=clang cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMC_FUZZ=ON -DMC_SANITIZE=address,undefined >/dev/null
cmake --build "$B" -j "$(nproc)" --target "fuzz_${name}_fuzzer" modclust-synth >/dev/null
corpus="$B/corpus"
[[ -d $corpus/$name ]] || MC_BIN="$PWD/$B" /usr/bin/python3 tests/fuzz/make_corpus.py "$corpus" >/dev/null
flock -u 9
mkdir -p "$B/findings/$name"
# Memory errors, undefined behaviour, crashes and hangs are findings; leaks are not looked for here (every
# input is a fresh error path; tools/sanitize.sh can run the leak check over whole runs). A huge allocation
# returns NULL as in the normal build (HDF5 then reports an error) instead of counting as a finding.
# Fork mode (one job after another in child processes) goes on after a finding, so one run reports all of
# them; each is saved in findings/NAME.
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
log="$B/findings/$name.log"
"$B/tests/fuzz/fuzz_${name}_fuzzer" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -max_total_time="$secs" -timeout=30 \
  -rss_limit_mb=4096 -malloc_limit_mb=1048576 -max_len=262144 -artifact_prefix="$B/findings/$name/" ${FUZZ_ARGS:-} "$corpus/$name" >"$log" 2>&1 || true
last=$(grep -E "^#[0-9]+: cov" "$log" | tail -1)
n=$(find "$B/findings/$name" -type f | wc -l)
echo "fuzz: $name for $secs s: ${last:-no progress line, see $log}"
echo "fuzz: $n finding(s) in $B/findings/$name (log: $log)"
((n == 0))
