#!/usr/bin/env bash
# tools/sanitize.sh: build modclust-mpi with AddressSanitizer and UndefinedBehaviorSanitizer into its own
# tree and run the tests labelled `sanitize` (the bad-input suites, the fault tests and the small MPI
# tests) under it. Any sanitizer report fails the run, even from a rank of a job that was meant to fail:
# reports go to files (log_path), which are checked at the end.
#   bash tools/sanitize.sh            build (default ./build-sanitize) and run
# Environment: SAN_BUILD_DIR, SAN_CTEST_ARGS (extra ctest flags), SAN_LEAKS=1 (leak checking too).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${SAN_BUILD_DIR:-build-sanitize}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMC_SANITIZE=address,undefined >/dev/null
cmake --build "$B" -j "$(nproc)" >/dev/null

logs="$PWD/$B/sanitizer-logs"
rm -rf "$logs"
mkdir -p "$logs"
# Leak checking is off by default (SAN_LEAKS=1 turns it on, against tests/sanitize/lsan.supp): Open MPI's
# components leave thousands of allocations at exit from unloaded modules LeakSanitizer cannot name, and
# our own error paths still leave their buffers to the process's end (docs/reliability.md).
export ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=${SAN_LEAKS:-0}:abort_on_error=0:strict_string_checks=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitize/lsan.supp:print_suppressions=0"
export OMPI_MCA_mca_base_component_disable_dlclose=1
export UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1:halt_on_error=1:suppressions=$PWD/tests/sanitize/ubsan.supp"
status=0
ctest --test-dir "$B" -L sanitize -j 2 --output-on-failure ${SAN_CTEST_ARGS:-} || status=$?
reports=$(find "$logs" -type f | sort)
if [[ -n $reports ]]; then
  echo "sanitize: $(echo "$reports" | wc -l) sanitizer report(s):" >&2
  for f in $reports; do echo "=== $f" >&2; head -60 "$f" >&2; done
  exit 1
fi
echo "sanitize: no sanitizer reports (tests labelled sanitize, build $B)"
exit $status
