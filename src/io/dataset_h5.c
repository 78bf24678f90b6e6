/* src/io/dataset_h5.c: datasets stored in HDF5: /<split>/images (uint8, scaled by 1/255, or floating point,
   kept) of shape N x H x W or N x H x W x C, and /<split>/labels (integers, N or N x 1). */
#include <math.h>
#include <string.h>
#include "io/io_impl.h"

static PetscErrorCode open_dataset(const char *path, hid_t file, const char *name, hid_t *dset, hid_t *space, PetscInt *ndim, hsize_t dims[])
{
  PetscBool has = PETSC_FALSE;
  int       r;

  PetscFunctionBeginUser;
  PetscCall(mc__io_h5_exists(file, name, &has));
  PetscCheck(has, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s is missing (expected /train/images, /train/labels, /test/images, /test/labels)", path, name);
  *dset = H5Dopen2(file, name, H5P_DEFAULT);
  PetscCheck(*dset >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s is not a dataset", path, name);
  MCCallHDF5(*space = H5Dget_space(*dset), path, "a dataset");
  MCCallHDF5(r = H5Sget_simple_extent_ndims(*space), path, "a dataspace");
  PetscCheck(r >= 1 && r <= MC_IO_MAX_DIMS, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has %d dimensions", path, name, r);
  MCCallHDF5(H5Sget_simple_extent_dims(*space, dims, NULL), path, "a dataspace");
  *ndim = r;
  PetscCall(mc__io_h5_check_shape(path, *dset, name, r, dims));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__io_dataset_read_h5(const char *path, const char *split, double budget, MCDataset **out)
{
  char        iname[64], lname[64];
  hid_t       file, dset, space, ftype;
  hsize_t     di[H5S_MAX_RANK], dl[H5S_MAX_RANK];
  PetscInt    ndi, ndl, hwc;
  size_t      nx;
  H5T_class_t cls;
  long long  *lab;
  MCDataset  *d;

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(iname, sizeof(iname), "/%s/images", split));
  PetscCall(PetscSNPrintf(lname, sizeof(lname), "/%s/labels", split));
  PetscCall(mc__io_h5_open_read(path, PETSC_TRUE, &file));
  PetscCall(PetscNew(&d));

  PetscCall(open_dataset(path, file, iname, &dset, &space, &ndi, di));
  PetscCheck(ndi == 3 || ndi == 4, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has %" PetscInt_FMT " dimensions, expected N x H x W or N x H x W x C", path, iname, ndi);
  PetscCheck(di[1] * di[2] * (ndi == 4 ? di[3] : 1) < ((hsize_t)1 << 31), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has images of more than 2^31 values", path, iname);
  d->n        = (PetscInt)di[0];
  d->shape[0] = (PetscInt)di[1];
  d->shape[1] = (PetscInt)di[2];
  d->shape[2] = ndi == 4 ? (PetscInt)di[3] : 1;
  hwc         = d->shape[0] * d->shape[1] * d->shape[2];
  nx          = (size_t)d->n * (size_t)hwc;
  PetscCall(mc__io_check_budget(path, iname, 4.0 * (double)nx, budget));
  PetscCall(PetscMalloc1(nx ? nx : 1, &d->x));
  MCCallHDF5(ftype = H5Dget_type(dset), path, "a dataset");
  cls = H5Tget_class(ftype);
  if (cls == H5T_INTEGER) {
    unsigned char *u8;

    PetscCheck(H5Tget_size(ftype) == 1 && H5Tget_sign(ftype) == H5T_SGN_NONE, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "%s: %s is an integer dataset but not uint8 (store pixels as uint8 0..255 or as floats in [0, 1])", path, iname);
    PetscCall(PetscMalloc1(nx ? nx : 1, &u8));
    PetscCheck(H5Dread(dset, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, u8) >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot read %s (truncated or corrupt file?)", path, iname);
    for (size_t i = 0; i < nx; ++i) d->x[i] = (float)u8[i] / 255.0f;
    PetscCall(PetscFree(u8));
  } else {
    PetscCheck(cls == H5T_FLOAT, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s is not numeric", path, iname);
    PetscCheck(H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, d->x) >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot read %s (truncated or corrupt file?)", path, iname);
    for (size_t i = 0; i < nx; ++i) PetscCheck(isfinite(d->x[i]), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has a non-finite value at flat index %zu", path, iname, i);
  }
  MCCallHDF5(H5Tclose(ftype), path, "a datatype");
  MCCallHDF5(H5Sclose(space), path, "a dataspace");
  MCCallHDF5(H5Dclose(dset), path, "a dataset");

  PetscCall(open_dataset(path, file, lname, &dset, &space, &ndl, dl));
  PetscCheck(ndl == 1 || (ndl == 2 && dl[1] == 1), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s must be a vector of N labels", path, lname);
  PetscCheck((PetscInt)dl[0] == d->n, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has %" PetscInt_FMT " images but %s has %" PetscInt_FMT " labels", path, iname, d->n, lname,
             (PetscInt)dl[0]);
  MCCallHDF5(ftype = H5Dget_type(dset), path, "a dataset");
  PetscCheck(H5Tget_class(ftype) == H5T_INTEGER, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s must hold integer class labels", path, lname);
  PetscCall(PetscMalloc1(d->n ? d->n : 1, &lab));
  PetscCheck(H5Dread(dset, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, lab) >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot read %s (truncated or corrupt file?)", path, lname);
  PetscCall(PetscMalloc1(d->n ? d->n : 1, &d->y));
  for (PetscInt i = 0; i < d->n; ++i) {
    PetscCheck(lab[i] >= 0 && lab[i] < 1000000, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s[%" PetscInt_FMT "] = %lld is not a class index", path, lname, i, lab[i]);
    d->y[i]      = (PetscInt)lab[i];
    d->n_classes = PetscMax(d->n_classes, d->y[i] + 1);
  }
  PetscCall(PetscFree(lab));
  MCCallHDF5(H5Tclose(ftype), path, "a datatype");
  MCCallHDF5(H5Sclose(space), path, "a dataspace");
  MCCallHDF5(H5Dclose(dset), path, "a dataset");
  MCCallHDF5(H5Fclose(file), path, "the file");
  PetscCall(PetscStrncpy(d->source, path, sizeof(d->source)));
  *out = d;
  PetscFunctionReturn(0);
}
