/* src/io/results_impl.h: helpers shared by the writers of results.h5 (results.c, results_importance.c).
   Internal to the io module. Each raises PETSC_ERR_FILE_WRITE naming the object and the file `path`. */
#pragma once
#include <hdf5.h>
#include "mc/report.h"

/* H5CALL - raise PETSC_ERR_FILE_WRITE naming `what` and the file `path` (a variable in scope) when an HDF5
   call fails. */
#define H5CALL(expr, what) \
  do { \
    if ((expr) < 0) SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s in %s (HDF5 error)", what, path); \
  } while (0)

/* Scalar attributes of `loc`: a variable-length UTF-8 string, a float64, an int64. */
PetscErrorCode mc__results_attr_string(hid_t loc, const char *path, const char *name, const char *value);
PetscErrorCode mc__results_attr_real(hid_t loc, const char *path, const char *name, PetscReal v);
PetscErrorCode mc__results_attr_int(hid_t loc, const char *path, const char *name, PetscInt64 v);

/* A rows x cols dataset (cols = 0: 1-D of rows entries, rows = 0 with cols = 0 is allowed); PetscInt data
   (is_int) is stored as int64, PetscReal as float64. */
PetscErrorCode mc__results_dataset(hid_t loc, const char *path, const char *name, PetscBool is_int, hsize_t rows, hsize_t cols, const void *v);

/* A scalar float64 dataset (h5py: f[name][()]). */
PetscErrorCode mc__results_scalar(hid_t loc, const char *path, const char *name, PetscReal v);

/* A new group; close it with H5Gclose. */
PetscErrorCode mc__results_group(hid_t loc, const char *path, const char *name, hid_t *g);

/* mc__results_write_importance - Write /importance for run->importance (nothing when it is NULL) into the
   open file `file`. Not collective. */
PetscErrorCode mc__results_write_importance(hid_t file, const char *path, const MCRun *run);
