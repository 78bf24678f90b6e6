#!/bin/bash
# PBS Pro: 4 nodes x 64 ranks. Debian's Open MPI has no PBS TM support: pass the hostfile explicitly.
# Usage: qsub -v CONFIG=my.ini jobs/pbs.sh
#PBS -N modclust
#PBS -l select=4:ncpus=64:mpiprocs=64
#PBS -l walltime=02:00:00
cd "$PBS_O_WORKDIR"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 HDF5_USE_FILE_LOCKING=FALSE
# BLAS kernels: each rank picks its own node's CPU kernels (docs/cluster.md, OPENBLAS_CORETYPE); do not
# export the login node's value. On nodes of mixed CPU generations, pin one set every node runs
# (export OPENBLAS_CORETYPE=Haswell) and add -x OPENBLAS_CORETYPE below.
mpirun --hostfile "$PBS_NODEFILE" -np "$(wc -l < "$PBS_NODEFILE")" \
  -x OMP_NUM_THREADS -x OPENBLAS_NUM_THREADS -x HDF5_USE_FILE_LOCKING \
  ./build/modclust-mpi "${CONFIG:?qsub -v CONFIG=my.ini}" output.dir=run-$PBS_JOBID -log_view
