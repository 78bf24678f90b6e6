/* include/mc/results.h: the results.h5 file (layout in docs/formats.md). Written by one rank. */
#pragma once
#include <petscsys.h>
#include "mc/report.h"

/* mc_results_write_h5 - Write results.h5 for `run` at `path`. `csr_*` is the gathered adjacency (rank 0)
   or NULL when it is not saved. Not collective: the caller is the writing rank; HDF5 errors raise
   PETSC_ERR_FILE_WRITE naming the path and the object. */
PetscErrorCode mc_results_write_h5(const MCRun *run, const char *path, const PetscInt *csr_indptr, const PetscInt *csr_indices,
                                   const PetscReal *csr_data);
