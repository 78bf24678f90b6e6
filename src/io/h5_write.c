/* src/io/h5_write.c: MCH5Writer, how the rest of the program writes an HDF5 file (results.h5) without
   including hdf5.h: a file and a stack of open groups, every object created in the innermost one. The
   hid_t-level helpers of h5.c do the writing (the native model writer uses them too).
   The file is assembled in memory (HDF5's core driver, no backing store) and written with stdio when it
   is closed: HDF5 1.10 keeps a file whose flush failed (a full disk) open and crashes when it closes it
   at exit, and a file written in one piece needs no HDF5 file lock (which NFS and Lustre may refuse). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "io/io_impl.h"

#define MAX_DEPTH 16

struct MCH5Writer {
  char  path[PETSC_MAX_PATH_LEN];
  hid_t fapl, file;
  hid_t group[MAX_DEPTH]; /* group[0] = the file */
  int   depth;            /* open groups beyond the file */
};

PetscErrorCode mc_io_h5w_create(const char *path, MCH5Writer **out)
{
  MCH5Writer *w;

  PetscFunctionBeginUser;
  mc__io_h5_silence();
  PetscCall(PetscNew(&w));
  PetscCall(PetscStrncpy(w->path, path, sizeof(w->path)));
  MCCallHDF5(w->fapl = H5Pcreate(H5P_FILE_ACCESS), path, "its file access list");
  MCCallHDF5(H5Pset_fapl_core(w->fapl, (size_t)1 << 20, 0), path, "its file access list");
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
  MCH5Writer *x;
  ssize_t     size;
  char       *image = NULL;
  FILE       *fp;
  int         err = 0;

  PetscFunctionBeginUser;
  if (!w || !*w) PetscFunctionReturn(0);
  x = *w;
  while (x->depth > 0) PetscCall(mc_io_h5w_group_pop(x));
  MCCallHDF5(H5Fflush(x->file, H5F_SCOPE_GLOBAL), x->path, "the file");
  MCCallHDF5(size = H5Fget_file_image(x->file, NULL, 0), x->path, "the file's image");
  PetscCall(PetscMalloc1((size_t)size + 1, &image));
  MCCallHDF5(H5Fget_file_image(x->file, image, (size_t)size), x->path, "the file's image");
  MCCallHDF5(H5Fclose(x->file), x->path, "the file");
  MCCallHDF5(H5Pclose(x->fapl), x->path, "its file access list");
  fp = fopen(x->path, "wb");
  if (!fp) err = errno;
  else {
    if (fwrite(image, 1, (size_t)size, fp) != (size_t)size) err = errno ? errno : EIO;
    if (fclose(fp) != 0 && !err) err = errno;
  }
  PetscCall(PetscFree(image));
  PetscCheck(!err, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s (%lld bytes): %s", x->path, (long long)size, strerror(err));
  PetscCall(PetscFree(*w));
  PetscFunctionReturn(0);
}

void mc_io_h5w_abandon(MCH5Writer **w)
{
  if (!w || !*w) return;
  while ((*w)->depth > 0) (void)H5Gclose((*w)->group[(*w)->depth--]);
  /* In memory: closing cannot fail for want of disk space. */
  (void)H5Fclose((*w)->file);
  (void)H5Pclose((*w)->fapl);
  (void)PetscFree(*w);
}
