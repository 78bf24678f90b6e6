#!/bin/bash
# jobs/laptop.sh: a laptop or workstation, one rank per core the process may use.
#   bash jobs/laptop.sh CONFIG.ini [section.key=value ...] [-petsc_option ...]
# Environment: NP (ranks; default: the cores this process may run on), MC_EXE [./build/modclust-mpi].
set -euo pipefail
# Count the cores before pinning BLAS to one thread: nproc honours OMP_NUM_THREADS and OMP_THREAD_LIMIT.
np=${NP:-$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
flags=(--oversubscribe)
[[ $(id -u) == 0 ]] && flags+=(--allow-run-as-root)
exec mpiexec -n "$np" "${flags[@]}" "${MC_EXE:-./build/modclust-mpi}" "$@"
