/* src/io/h5.c: small HDF5 helpers shared by the model and dataset readers and the native writer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io/io_impl.h"

void mc__io_h5_silence(void)
{
  /* HDF5 prints its error stack on every failed call; our messages name the file and the object. */
  (void)H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

PetscErrorCode mc__io_h5_is_hdf5(const char *path, PetscBool *is_h5)
{
  static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  unsigned char              buf[8];
  FILE                      *fp;

  PetscFunctionBeginUser;
  *is_h5 = PETSC_FALSE;
  fp     = fopen(path, "rb");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot open %s", path);
  /* The superblock sits at 0, 512, 1024, 2048, ... when the file has a user block. */
  for (long off = 0; off <= (1L << 20); off = off ? 2 * off : 512) {
    if (fseek(fp, off, SEEK_SET) != 0 || fread(buf, 1, 8, fp) != 8) break;
    if (memcmp(buf, sig, 8) == 0) {
      *is_h5 = PETSC_TRUE;
      break;
    }
  }
  fclose(fp);
  PetscFunctionReturn(0);
}

PetscErrorCode mc__io_h5_open_read(const char *path, PetscBool check_heaps, hid_t *file)
{
  PetscFunctionBeginUser;
  mc__io_h5_silence();
  if (check_heaps) PetscCall(mc__io_h5_check_heaps(path));
  /* File locking as HDF5 1.10.8 decides (it honours HDF5_USE_FILE_LOCKING=FALSE by itself); closing the file
     closes whatever a reader left open in it (mc__io_h5_close_path after an error). */
  {
    hid_t fapl;

    MCCallHDF5(fapl = H5Pcreate(H5P_FILE_ACCESS), path, "its file access list");
    MCCallHDF5(H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG), path, "its file access list");
    *file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    (void)H5Pclose(fapl);
  }
  PetscCheck(*file >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN,
             "cannot open %s as an HDF5 file (missing, unreadable, truncated or corrupt; on NFS or Lustre try HDF5_USE_FILE_LOCKING=FALSE)", path);
  PetscFunctionReturn(0);
}

void mc__io_h5_close_path(const char *path)
{
  ssize_t n = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE);
  hid_t  *ids;

  if (n <= 0 || !(ids = malloc((size_t)n * sizeof(hid_t)))) return;
  n = H5Fget_obj_ids(H5F_OBJ_ALL, H5F_OBJ_FILE, (size_t)n, ids);
  for (ssize_t i = 0; i < n; ++i) {
    char name[PETSC_MAX_PATH_LEN];

    if (H5Fget_name(ids[i], name, sizeof(name)) > 0 && !strcmp(name, path)) (void)H5Fclose(ids[i]);
  }
  free(ids);
}

PetscErrorCode mc__io_h5_exists(hid_t loc, const char *path, PetscBool *exists)
{
  char  buf[PETSC_MAX_PATH_LEN];
  char *p;

  PetscFunctionBeginUser;
  *exists = PETSC_FALSE;
  PetscCall(PetscStrncpy(buf, path, sizeof(buf)));
  /* H5Lexists fails (rather than returning 0) when an intermediate group is missing: walk the prefixes. */
  p = buf;
  if (*p == '/') ++p;
  for (;;) {
    char  *slash = strchr(p, '/');
    htri_t e;

    if (slash) *slash = '\0';
    e = H5Lexists(loc, buf, H5P_DEFAULT);
    if (e <= 0) PetscFunctionReturn(0);
    if (!slash) break;
    *slash = '/';
    p      = slash + 1;
  }
  *exists = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode mc__io_h5_attr_exists(hid_t loc, const char *name, PetscBool *exists)
{
  htri_t e;

  PetscFunctionBeginUser;
  e = H5Aexists(loc, name);
  if (e < 0) {
    char file[PETSC_MAX_PATH_LEN] = "an HDF5 file", obj[256] = "";

    /* The file and object come from the id itself, so that every caller's message names them. */
    if (H5Fget_name(loc, file, sizeof(file)) < 0) PetscCall(PetscStrncpy(file, "an HDF5 file", sizeof(file)));
    if (H5Iget_name(loc, obj, sizeof(obj)) <= 0) PetscCall(PetscStrncpy(obj, "?", sizeof(obj)));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: cannot look up the attribute %s of %s (a damaged file?)", file, name, obj);
  }
  *exists = e > 0 ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

/* Read every string element of an open attribute into a new array of strings. */
static PetscErrorCode attr_read_strings(const char *file, const char *what, const char *name, hid_t attr, PetscInt *n, char ***out)
{
  hid_t    ftype, space, mtype;
  hssize_t npts;
  char   **s;

  PetscFunctionBeginUser;
  MCCallHDF5(ftype = H5Aget_type(attr), file, "an attribute");
  MCCallHDF5(space = H5Aget_space(attr), file, "an attribute");
  MCCallHDF5(npts = H5Sget_simple_extent_npoints(space), file, "a dataspace");
  PetscCall(PetscCalloc1(npts + 1, &s));
  if (npts == 0) {
    /* Keras stores an empty list (a layer without weights) as an empty float array. */
    MCCallHDF5(H5Sclose(space), file, "a dataspace");
    MCCallHDF5(H5Tclose(ftype), file, "a datatype");
    *n   = 0;
    *out = s;
    PetscFunctionReturn(0);
  }
  PetscCheck(H5Tget_class(ftype) == H5T_STRING, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute %s of %s is not a string", file, name, what);
  if (H5Tis_variable_str(ftype) > 0) {
    char **vs;

    MCCallHDF5(mtype = H5Tcopy(H5T_C_S1), file, "a datatype");
    MCCallHDF5(H5Tset_size(mtype, H5T_VARIABLE), file, "a datatype");
    MCCallHDF5(H5Tset_cset(mtype, H5Tget_cset(ftype)), file, "a datatype");
    PetscCall(PetscCalloc1(npts + 1, &vs));
    PetscCheck(H5Aread(attr, mtype, vs) >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot read attribute %s of %s", file, name, what);
    for (hssize_t i = 0; i < npts; ++i) PetscCall(PetscStrallocpy(vs[i] ? vs[i] : "", &s[i]));
    MCCallHDF5(H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, vs), file, "a variable-length string");
    PetscCall(PetscFree(vs));
  } else {
    size_t sz = H5Tget_size(ftype);
    char  *buf;

    MCCallHDF5(mtype = H5Tcopy(H5T_C_S1), file, "a datatype");
    MCCallHDF5(H5Tset_size(mtype, sz), file, "a datatype");
    MCCallHDF5(H5Tset_strpad(mtype, H5T_STR_NULLPAD), file, "a datatype");
    MCCallHDF5(H5Tset_cset(mtype, H5Tget_cset(ftype)), file, "a datatype");
    PetscCall(PetscCalloc1(sz * (size_t)npts + 1, &buf));
    PetscCheck(H5Aread(attr, mtype, buf) >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot read attribute %s of %s", file, name, what);
    for (hssize_t i = 0; i < npts; ++i) {
      size_t len = strnlen(buf + (size_t)i * sz, sz);

      PetscCall(PetscMalloc1(len + 1, &s[i]));
      memcpy(s[i], buf + (size_t)i * sz, len);
      s[i][len] = '\0';
      /* Space-padded strings (Fortran style) lose their padding. */
      while (len > 0 && s[i][len - 1] == ' ') s[i][--len] = '\0';
    }
    PetscCall(PetscFree(buf));
  }
  MCCallHDF5(H5Tclose(mtype), file, "a datatype");
  MCCallHDF5(H5Sclose(space), file, "a dataspace");
  MCCallHDF5(H5Tclose(ftype), file, "a datatype");
  *n   = (PetscInt)npts;
  *out = s;
  PetscFunctionReturn(0);
}

PetscErrorCode mc__io_strings_free(PetscInt n, char ***s)
{
  PetscFunctionBeginUser;
  if (!*s) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < n; ++i) PetscCall(PetscFree((*s)[i]));
  PetscCall(PetscFree(*s));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__io_h5_attr_string(const char *file, hid_t loc, const char *what, const char *name, char **out)
{
  hid_t     attr;
  PetscBool has = PETSC_FALSE;
  PetscInt  n;
  char    **s;

  PetscFunctionBeginUser;
  PetscCall(mc__io_h5_attr_exists(loc, name, &has));
  PetscCheck(has, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute %s of %s is missing", file, name, what);
  MCCallHDF5(attr = H5Aopen(loc, name, H5P_DEFAULT), file, "an attribute");
  PetscCall(attr_read_strings(file, what, name, attr, &n, &s));
  MCCallHDF5(H5Aclose(attr), file, "an attribute");
  PetscCheck(n == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute %s of %s has %" PetscInt_FMT " strings, expected one", file, name, what, n);
  *out = s[0];
  s[0] = NULL;
  PetscCall(mc__io_strings_free(n, &s));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__io_h5_attr_strings(const char *file, hid_t loc, const char *what, const char *name, PetscInt *n, char ***out)
{
  PetscBool has = PETSC_FALSE;
  hid_t     attr;

  PetscFunctionBeginUser;
  PetscCall(mc__io_h5_attr_exists(loc, name, &has));
  if (has) {
    MCCallHDF5(attr = H5Aopen(loc, name, H5P_DEFAULT), file, "an attribute");
    PetscCall(attr_read_strings(file, what, name, attr, n, out));
    MCCallHDF5(H5Aclose(attr), file, "an attribute");
    PetscFunctionReturn(0);
  }
  /* Keras splits attributes over 64 KB into name0, name1, ... (in order, no gaps). */
  *n   = 0;
  *out = NULL;
  for (int chunk = 0;; ++chunk) {
    char     cname[256];
    PetscInt m;
    char   **part, **all;

    snprintf(cname, sizeof(cname), "%s%d", name, chunk);
    PetscCall(mc__io_h5_attr_exists(loc, cname, &has));
    if (!has) {
      PetscCheck(chunk > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute %s of %s is missing (neither %s nor %s0)", file, name, what, name, name);
      break;
    }
    MCCallHDF5(attr = H5Aopen(loc, cname, H5P_DEFAULT), file, "an attribute");
    PetscCall(attr_read_strings(file, what, cname, attr, &m, &part));
    MCCallHDF5(H5Aclose(attr), file, "an attribute");
    PetscCall(PetscCalloc1(*n + m + 1, &all));
    for (PetscInt i = 0; i < *n; ++i) all[i] = (*out)[i];
    for (PetscInt i = 0; i < m; ++i) all[*n + i] = part[i];
    PetscCall(PetscFree(part));
    PetscCall(PetscFree(*out));
    *out = all;
    *n += m;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode attr_read_numbers(const char *file, hid_t loc, const char *what, const char *name, PetscInt max, PetscInt *n, hid_t mtype, void *v)
{
  PetscBool has = PETSC_FALSE;
  hid_t     attr, ftype, space;
  hssize_t  npts;
  H5T_class_t cls;

  PetscFunctionBeginUser;
  PetscCall(mc__io_h5_attr_exists(loc, name, &has));
  PetscCheck(has, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute %s of %s is missing", file, name, what);
  MCCallHDF5(attr = H5Aopen(loc, name, H5P_DEFAULT), file, "an attribute");
  MCCallHDF5(ftype = H5Aget_type(attr), file, "an attribute");
  cls = H5Tget_class(ftype);
  PetscCheck(cls == H5T_INTEGER || cls == H5T_FLOAT, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute %s of %s is not numeric", file, name, what);
  MCCallHDF5(space = H5Aget_space(attr), file, "an attribute");
  MCCallHDF5(npts = H5Sget_simple_extent_npoints(space), file, "a dataspace");
  PetscCheck(npts <= max, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute %s of %s has %lld values, expected at most %" PetscInt_FMT, file, name, what,
             (long long)npts, max);
  PetscCheck(H5Aread(attr, mtype, v) >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot read attribute %s of %s", file, name, what);
  MCCallHDF5(H5Sclose(space), file, "a dataspace");
  MCCallHDF5(H5Tclose(ftype), file, "a datatype");
  MCCallHDF5(H5Aclose(attr), file, "an attribute");
  *n = (PetscInt)npts;
  PetscFunctionReturn(0);
}

PetscErrorCode mc__io_h5_attr_ints(const char *file, hid_t loc, const char *what, const char *name, PetscInt max, PetscInt *n, long long v[])
{
  PetscFunctionBeginUser;
  PetscCall(attr_read_numbers(file, loc, what, name, max, n, H5T_NATIVE_LLONG, v));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__io_h5_attr_reals(const char *file, hid_t loc, const char *what, const char *name, PetscInt max, PetscInt *n, double v[])
{
  PetscFunctionBeginUser;
  PetscCall(attr_read_numbers(file, loc, what, name, max, n, H5T_NATIVE_DOUBLE, v));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__io_h5_check_shape(const char *file, hid_t dset, const char *name, int rank, const hsize_t dims[])
{
  hsize_t total = 1;
  hid_t   dcpl;

  PetscFunctionBeginUser;
  for (int i = 0; i < rank; ++i) {
    PetscCheck(dims[i] < ((hsize_t)1 << 31), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s dimension %d is %llu (a corrupt file?)", file, name, i, (unsigned long long)dims[i]);
    total *= dims[i];
    PetscCheck(total < ((hsize_t)1 << 38), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s describes more than 2^38 values (a corrupt file?)", file, name);
  }
  MCCallHDF5(dcpl = H5Dget_create_plist(dset), file, "a dataset");
  if (H5Pget_layout(dcpl) == H5D_CONTIGUOUS && total > 0) {
    hid_t   t;
    size_t  elem;
    hsize_t held = H5Dget_storage_size(dset);

    MCCallHDF5(t = H5Dget_type(dset), file, "a dataset");
    elem = H5Tget_size(t);
    (void)H5Tclose(t);
    (void)H5Pclose(dcpl);
    PetscCheck(held >= total * elem, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s describes %llu bytes but the file holds %llu for it (a truncated or corrupt file?)", file, name,
               (unsigned long long)(total * elem), (unsigned long long)held);
  } else (void)H5Pclose(dcpl);
  PetscFunctionReturn(0);
}

PetscErrorCode mc__io_h5_read_floats(const char *file, hid_t loc, const char *path, double budget, PetscInt *ndim, PetscInt dims[], float **data)
{
  PetscBool   has = PETSC_FALSE;
  hid_t       dset, space, ftype;
  int         rank;
  hsize_t     hd[H5S_MAX_RANK];
  size_t      count = 1;
  H5T_class_t cls;

  PetscFunctionBeginUser;
  PetscCall(mc__io_h5_exists(loc, path, &has));
  PetscCheck(has, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s is missing", file, path);
  dset = H5Dopen2(loc, path, H5P_DEFAULT);
  PetscCheck(dset >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s is not a dataset", file, path);
  MCCallHDF5(ftype = H5Dget_type(dset), file, "a dataset");
  cls = H5Tget_class(ftype);
  PetscCheck(cls == H5T_FLOAT || cls == H5T_INTEGER, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s is not numeric", file, path);
  MCCallHDF5(space = H5Dget_space(dset), file, "a dataset");
  MCCallHDF5(rank = H5Sget_simple_extent_ndims(space), file, "a dataspace");
  PetscCheck(rank <= MC_IO_MAX_DIMS, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s has %d dimensions, at most %d are supported", file, path, rank,
             MC_IO_MAX_DIMS);
  MCCallHDF5(H5Sget_simple_extent_dims(space, hd, NULL), file, "a dataspace");
  PetscCall(mc__io_h5_check_shape(file, dset, path, rank, hd));
  for (int i = 0; i < rank; ++i) {
    dims[i] = (PetscInt)hd[i];
    count *= (size_t)hd[i];
  }
  *ndim = rank;
  PetscCall(mc__io_check_budget(file, path, 4.0 * (double)count, budget));
  PetscCall(PetscMalloc1(count ? count : 1, data));
  /* HDF5 converts any stored float (half, double) or integer type to native float. */
  PetscCheck(H5Dread(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, *data) >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_READ,
             "%s: cannot read dataset %s (truncated or corrupt file?)", file, path);
  MCCallHDF5(H5Sclose(space), file, "a dataspace");
  MCCallHDF5(H5Tclose(ftype), file, "a datatype");
  MCCallHDF5(H5Dclose(dset), file, "a dataset");
  PetscFunctionReturn(0);
}

PetscErrorCode mc__io_h5_write_attr_string(const char *file, hid_t loc, const char *name, const char *value)
{
  hid_t t, s, a;

  PetscFunctionBeginUser;
  MCCallHDF5(t = H5Tcopy(H5T_C_S1), file, "a datatype");
  MCCallHDF5(H5Tset_size(t, H5T_VARIABLE), file, "a datatype");
  MCCallHDF5(H5Tset_cset(t, H5T_CSET_UTF8), file, "a datatype");
  MCCallHDF5(s = H5Screate(H5S_SCALAR), file, "a dataspace");
  a = H5Acreate2(loc, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(a >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "%s: cannot write attribute %s", file, name);
  PetscCheck(H5Awrite(a, t, &value) >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "%s: cannot write attribute %s", file, name);
  MCCallHDF5(H5Aclose(a), file, "an attribute");
  MCCallHDF5(H5Sclose(s), file, "a dataspace");
  MCCallHDF5(H5Tclose(t), file, "a datatype");
  PetscFunctionReturn(0);
}

PetscErrorCode mc__io_h5_write_attr_ints(const char *file, hid_t loc, const char *name, PetscInt n, const long long v[])
{
  hid_t   s, a;
  hsize_t dim = (hsize_t)n;

  PetscFunctionBeginUser;
  if (n == 0) MCCallHDF5(s = H5Screate(H5S_SCALAR), file, "a dataspace");
  else MCCallHDF5(s = H5Screate_simple(1, &dim, NULL), file, "a dataspace");
  a = H5Acreate2(loc, name, H5T_STD_I64LE, s, H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(a >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "%s: cannot write attribute %s", file, name);
  PetscCheck(H5Awrite(a, H5T_NATIVE_LLONG, v) >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "%s: cannot write attribute %s", file, name);
  MCCallHDF5(H5Aclose(a), file, "an attribute");
  MCCallHDF5(H5Sclose(s), file, "a dataspace");
  PetscFunctionReturn(0);
}

PetscErrorCode mc__io_h5_write_attr_real(const char *file, hid_t loc, const char *name, double v)
{
  hid_t s, a;

  PetscFunctionBeginUser;
  MCCallHDF5(s = H5Screate(H5S_SCALAR), file, "a dataspace");
  a = H5Acreate2(loc, name, H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(a >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "%s: cannot write attribute %s", file, name);
  PetscCheck(H5Awrite(a, H5T_NATIVE_DOUBLE, &v) >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "%s: cannot write attribute %s", file, name);
  MCCallHDF5(H5Aclose(a), file, "an attribute");
  MCCallHDF5(H5Sclose(s), file, "a dataspace");
  PetscFunctionReturn(0);
}

PetscErrorCode mc__io_h5_write_floats(const char *file, hid_t loc, const char *name, PetscInt ndim, const PetscInt dims[], const float *data)
{
  hid_t   s, d;
  hsize_t hd[MC_IO_MAX_DIMS];

  PetscFunctionBeginUser;
  PetscCheck(ndim >= 1 && ndim <= MC_IO_MAX_DIMS, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "%s: dataset %s: bad rank %" PetscInt_FMT, file, name, ndim);
  for (PetscInt i = 0; i < ndim; ++i) hd[i] = (hsize_t)dims[i];
  MCCallHDF5(s = H5Screate_simple((int)ndim, hd, NULL), file, "a dataspace");
  d = H5Dcreate2(loc, name, H5T_IEEE_F32LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(d >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "%s: cannot create dataset %s", file, name);
  PetscCheck(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "%s: cannot write dataset %s", file, name);
  MCCallHDF5(H5Dclose(d), file, "a dataset");
  MCCallHDF5(H5Sclose(s), file, "a dataspace");
  PetscFunctionReturn(0);
}

PetscErrorCode mc__io_h5_write_dataset(const char *file, hid_t loc, const char *name, PetscBool is_int, PetscInt rows, PetscInt cols, const void *v)
{
  hsize_t dims[2] = {(hsize_t)PetscMax(rows, 0), (hsize_t)cols};
  hid_t   s, d, mt = is_int ? (sizeof(PetscInt) == 8 ? H5T_NATIVE_INT64 : H5T_NATIVE_INT32) : H5T_NATIVE_DOUBLE;

  PetscFunctionBeginUser;
  if (rows < 0) MCCallHDF5(s = H5Screate(H5S_SCALAR), file, "a dataspace");
  else MCCallHDF5(s = H5Screate_simple(cols ? 2 : 1, dims, NULL), file, "a dataspace");
  d = H5Dcreate2(loc, name, is_int ? H5T_STD_I64LE : H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(d >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s in %s (HDF5 error; is the disk full?)", name, file);
  if (rows != 0) PetscCheck(H5Dwrite(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot write %s in %s (HDF5 error; is the disk full?)", name, file);
  MCCallHDF5(H5Dclose(d), file, name);
  MCCallHDF5(H5Sclose(s), file, "a dataspace");
  PetscFunctionReturn(0);
}
