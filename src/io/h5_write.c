/* src/io/h5_write.c: MCH5Writer, how the rest of the program writes an HDF5 file (results.h5) without
   including hdf5.h: a file and a stack of open groups, every object created in the innermost one. The
   hid_t-level helpers of h5.c do the writing (the native model writer uses them too). */
#include <string.h>
#include "io/io_impl.h"

#define MAX_DEPTH 16

struct MCH5Writer {
  char  path[PETSC_MAX_PATH_LEN];
  hid_t fapl, file;
  hid_t group[MAX_DEPTH]; /* group[0] = the file */
  int   depth;            /* open groups beyond the file */
};

PetscErrorCode mc_io_h5w_create(const char *path, MCFileLocking locking, MCH5Writer **out)
{
  MCH5Writer *w;

  PetscFunctionBeginUser;
  mc__io_h5_silence();
  PetscCall(PetscNew(&w));
  PetscCall(PetscStrncpy(w->path, path, sizeof(w->path)));
  MCCallHDF5(w->fapl = H5Pcreate(H5P_FILE_ACCESS), path, "its file access list");
  if (locking == MC_FILE_LOCKING_OFF) MCCallHDF5(H5Pset_file_locking(w->fapl, 0, 1), path, "its file locking");
  else if (locking == MC_FILE_LOCKING_ON) MCCallHDF5(H5Pset_file_locking(w->fapl, 1, 0), path, "its file locking");
  w->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, w->fapl);
  PetscCheck(w->file >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot create %s (HDF5 error)", path);
  w->group[0] = w->file;
  *out        = w;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_io_h5w_group_push(MCH5Writer *w, const char *name)
{
  hid_t g;

  PetscFunctionBeginUser;
  PetscCheck(w->depth + 1 < MAX_DEPTH, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: groups nested deeper than %d", w->path, MAX_DEPTH - 1);
  g = H5Gcreate2(w->group[w->depth], name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(g >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write group %s in %s (HDF5 error)", name, w->path);
  w->group[++w->depth] = g;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_io_h5w_group_pop(MCH5Writer *w)
{
  PetscFunctionBeginUser;
  PetscCheck(w->depth > 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%s: no group to close", w->path);
  MCCallHDF5(H5Gclose(w->group[w->depth--]), w->path, "a group");
  PetscFunctionReturn(0);
}

PetscErrorCode mc_io_h5w_attr_string(MCH5Writer *w, const char *name, const char *value)
{
  PetscFunctionBeginUser;
  PetscCall(mc__io_h5_write_attr_string(w->path, w->group[w->depth], name, value));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_io_h5w_attr_real(MCH5Writer *w, const char *name, PetscReal v)
{
  PetscFunctionBeginUser;
  PetscCall(mc__io_h5_write_attr_real(w->path, w->group[w->depth], name, (double)v));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_io_h5w_attr_int(MCH5Writer *w, const char *name, PetscInt64 v)
{
  long long x = (long long)v;

  PetscFunctionBeginUser;
  PetscCall(mc__io_h5_write_attr_ints(w->path, w->group[w->depth], name, 0, &x));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_io_h5w_ints(MCH5Writer *w, const char *name, PetscInt rows, PetscInt cols, const PetscInt v[])
{
  PetscFunctionBeginUser;
  PetscCall(mc__io_h5_write_dataset(w->path, w->group[w->depth], name, PETSC_TRUE, rows, cols, v));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_io_h5w_reals(MCH5Writer *w, const char *name, PetscInt rows, PetscInt cols, const PetscReal v[])
{
  PetscFunctionBeginUser;
  PetscCall(mc__io_h5_write_dataset(w->path, w->group[w->depth], name, PETSC_FALSE, rows, cols, v));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_io_h5w_scalar(MCH5Writer *w, const char *name, PetscReal v)
{
  PetscFunctionBeginUser;
  PetscCall(mc__io_h5_write_dataset(w->path, w->group[w->depth], name, PETSC_FALSE, -1, 0, &v));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_io_h5w_close(MCH5Writer **w)
{
  PetscFunctionBeginUser;
  if (!w || !*w) PetscFunctionReturn(0);
  while ((*w)->depth > 0) PetscCall(mc_io_h5w_group_pop(*w));
  MCCallHDF5(H5Fclose((*w)->file), (*w)->path, "the file (the disk may be full)");
  MCCallHDF5(H5Pclose((*w)->fapl), (*w)->path, "its file access list");
  PetscCall(PetscFree(*w));
  PetscFunctionReturn(0);
}
