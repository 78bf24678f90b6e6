#!/bin/bash
# jobs/pbs.sh: modclust-mpi under PBS Pro / OpenPBS (docs/cluster.md).
#   qsub -l select=4:ncpus=64:mpiprocs=64 -v CONFIG=my.ini[,ARGS="section.key=value ..."] jobs/pbs.sh
# Results go to the config's [output] dir (or output.dir=... in ARGS), never a name made from the job id,
# so submitting the same command again resumes a stopped clusterability null from its checkpoint.
# Debian's Open MPI has no PBS TM support: the node file is passed to mpirun explicitly.
#PBS -N modclust
#PBS -l select=1:ncpus=2:mpiprocs=2
#PBS -l walltime=01:00:00
set -uo pipefail
cd "${PBS_O_WORKDIR:-.}"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 HDF5_USE_FILE_LOCKING=FALSE
# BLAS kernels: each rank picks its own node's CPU kernels (docs/cluster.md, OPENBLAS_CORETYPE); do not
# export the login node's value. On nodes of mixed CPU generations, pin one set every node runs
# (export OPENBLAS_CORETYPE=Haswell) and add -x OPENBLAS_CORETYPE below.
flags=()
[[ $(id -u) == 0 ]] && flags+=(--allow-run-as-root)
read -r -a args <<< "${ARGS:-}"
mpirun --hostfile "${PBS_NODEFILE:?not inside a PBS job}" -np "$(wc -l < "$PBS_NODEFILE")" "${flags[@]}" \
  -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS -x HDF5_USE_FILE_LOCKING \
  "${MC_EXE:-./build/modclust-mpi}" "${CONFIG:?qsub -v CONFIG=my.ini jobs/pbs.sh}" "${args[@]}"
rc=$?
# 75: the run stopped early on SIGTERM (qdel, walltime) with finished shuffles checkpointed.
((rc == 75)) && echo "modclust job ${PBS_JOBID:-?}: stopped early with its work saved: qsub the same command again to resume" >&2
exit $rc
