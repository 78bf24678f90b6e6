/* src/io/results_write.c: the small HDF5 writers every part of results.h5 uses. */
#include "results_impl.h"

static PetscErrorCode attr(hid_t loc, const char *path, const char *name, hid_t type, const void *v)
{
  hid_t s, a;

  PetscFunctionBeginUser;
  H5CALL(s = H5Screate(H5S_SCALAR), name);
  H5CALL(a = H5Acreate2(loc, name, type, s, H5P_DEFAULT, H5P_DEFAULT), name);
  H5CALL(H5Awrite(a, type, v), name);
  H5CALL(H5Aclose(a), name);
  H5CALL(H5Sclose(s), name);
  PetscFunctionReturn(0);
}

PetscErrorCode mc__results_attr_real(hid_t loc, const char *path, const char *name, PetscReal v)
{
  double d = (double)v;

  PetscFunctionBeginUser;
  PetscCall(attr(loc, path, name, H5T_NATIVE_DOUBLE, &d));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__results_attr_int(hid_t loc, const char *path, const char *name, PetscInt64 v)
{
  long long d = (long long)v;

  PetscFunctionBeginUser;
  PetscCall(attr(loc, path, name, H5T_NATIVE_LLONG, &d));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__results_attr_string(hid_t loc, const char *path, const char *name, const char *value)
{
  hid_t t;

  PetscFunctionBeginUser;
  H5CALL(t = H5Tcopy(H5T_C_S1), name);
  H5CALL(H5Tset_size(t, H5T_VARIABLE), name);
  H5CALL(H5Tset_cset(t, H5T_CSET_UTF8), name);
  PetscCall(attr(loc, path, name, t, &value));
  H5CALL(H5Tclose(t), name);
  PetscFunctionReturn(0);
}

PetscErrorCode mc__results_dataset(hid_t loc, const char *path, const char *name, PetscBool is_int, hsize_t rows, hsize_t cols, const void *v)
{
  hsize_t dims[2] = {rows, cols};
  hid_t   s, d, mt = is_int ? (sizeof(PetscInt) == 8 ? H5T_NATIVE_INT64 : H5T_NATIVE_INT32) : H5T_NATIVE_DOUBLE;

  PetscFunctionBeginUser;
  H5CALL(s = H5Screate_simple(cols ? 2 : 1, dims, NULL), name);
  H5CALL(d = H5Dcreate2(loc, name, is_int ? H5T_STD_I64LE : H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), name);
  if (rows > 0) H5CALL(H5Dwrite(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), name);
  H5CALL(H5Dclose(d), name);
  H5CALL(H5Sclose(s), name);
  PetscFunctionReturn(0);
}

PetscErrorCode mc__results_scalar(hid_t loc, const char *path, const char *name, PetscReal v)
{
  double d = (double)v;
  hid_t  s, ds;

  PetscFunctionBeginUser;
  H5CALL(s = H5Screate(H5S_SCALAR), name);
  H5CALL(ds = H5Dcreate2(loc, name, H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), name);
  H5CALL(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &d), name);
  H5CALL(H5Dclose(ds), name);
  H5CALL(H5Sclose(s), name);
  PetscFunctionReturn(0);
}

PetscErrorCode mc__results_group(hid_t loc, const char *path, const char *name, hid_t *g)
{
  PetscFunctionBeginUser;
  H5CALL(*g = H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), name);
  PetscFunctionReturn(0);
}
