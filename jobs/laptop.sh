#!/bin/bash
# A laptop or workstation: all cores, one rank each. Usage: bash jobs/laptop.sh my.ini [section.key=value ...]
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
flags=(--oversubscribe)
[[ $(id -u) == 0 ]] && flags+=(--allow-run-as-root)
mpiexec -n "$(nproc)" "${flags[@]}" ./build/modclust-mpi "$@"
