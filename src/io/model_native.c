/* src/io/model_native.c: the native modclust HDF5 model file (docs/formats.md, "Native model file"):
   root attributes format = "modclust-model", version = 1, input_shape = [H, W, C], n_layers; one group
   per layer /layers/000, /layers/001, ... with attributes type, name, activation (+ geometry) and the
   tensors weight, bias, gamma, beta, moving_mean, moving_var in the canonical layout of mc/model.h. */
#include <stdio.h>
#include <string.h>
#include "io/io_impl.h"

#define MC_NATIVE_FORMAT  "modclust-model"
#define MC_NATIVE_VERSION 1

static void layer_group_name(PetscInt i, char *buf, size_t n)
{
  snprintf(buf, n, "/layers/%03d", (int)i);
}

/* Everything but the file itself; tmp names the file in messages. */
static PetscErrorCode write_native_body(hid_t file, const char *tmp, const MCModel *m)
{
  const char *path = tmp;
  hid_t       layers;
  long long   v[3];

  PetscFunctionBeginUser;
  PetscCall(mc__io_h5_write_attr_string(tmp, file, "format", MC_NATIVE_FORMAT));
  v[0] = MC_NATIVE_VERSION;
  PetscCall(mc__io_h5_write_attr_ints(tmp, file, "version", 0, v));
  for (int i = 0; i < 3; ++i) v[i] = m->input_shape[i];
  PetscCall(mc__io_h5_write_attr_ints(tmp, file, "input_shape", 3, v));
  v[0] = m->n_layers;
  PetscCall(mc__io_h5_write_attr_ints(tmp, file, "n_layers", 0, v));
  PetscCall(mc__io_h5_write_attr_string(tmp, file, "source_format", m->format[0] ? m->format : "unknown"));
  PetscCall(mc__io_h5_write_attr_string(tmp, file, "source", m->source));
  MCCallHDF5(layers = H5Gcreate2(file, "/layers", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path, "a group");
  for (PetscInt i = 0; i < m->n_layers; ++i) {
    const MCLayer *l = &m->layers[i];
    char           gname[64];
    hid_t          g;
    PetscInt       dims[4];

    layer_group_name(i, gname, sizeof(gname));
    MCCallHDF5(g = H5Gcreate2(file, gname, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path, "a group");
    PetscCall(mc__io_h5_write_attr_string(tmp, g, "type", mc_model_layer_type_name(l->type)));
    PetscCall(mc__io_h5_write_attr_string(tmp, g, "name", l->name));
    PetscCall(mc__io_h5_write_attr_string(tmp, g, "activation", mc_model_activation_name(l->act)));
    PetscCall(mc__io_h5_write_attr_real(tmp, g, "alpha", (double)l->alpha));
    switch (l->type) {
    case MC_LAYER_DENSE:
      dims[0] = l->n_in;
      dims[1] = l->n_out;
      PetscCall(mc__io_h5_write_floats(tmp, g, "weight", 2, dims, l->weight));
      break;
    case MC_LAYER_CONV2D:
      dims[0] = l->kh;
      dims[1] = l->kw;
      dims[2] = l->n_in;
      dims[3] = l->n_out;
      PetscCall(mc__io_h5_write_floats(tmp, g, "weight", 4, dims, l->weight));
      /* fall through */
    case MC_LAYER_MAXPOOL2D:
    case MC_LAYER_AVGPOOL2D:
      v[0] = l->kh;
      v[1] = l->kw;
      PetscCall(mc__io_h5_write_attr_ints(tmp, g, "kernel", 2, v));
      v[0] = l->stride_h;
      v[1] = l->stride_w;
      PetscCall(mc__io_h5_write_attr_ints(tmp, g, "strides", 2, v));
      PetscCall(mc__io_h5_write_attr_string(tmp, g, "padding", l->padding == MC_PAD_SAME ? "same" : "valid"));
      break;
    case MC_LAYER_BATCHNORM:
      PetscCall(mc__io_h5_write_attr_real(tmp, g, "epsilon", (double)l->eps));
      break;
    case MC_LAYER_DROPOUT:
      PetscCall(mc__io_h5_write_attr_real(tmp, g, "rate", (double)l->rate));
      break;
    default:
      break;
    }
    dims[0] = l->n_out;
    if (l->bias) PetscCall(mc__io_h5_write_floats(tmp, g, "bias", 1, dims, l->bias));
    if (l->gamma) PetscCall(mc__io_h5_write_floats(tmp, g, "gamma", 1, dims, l->gamma));
    if (l->beta) PetscCall(mc__io_h5_write_floats(tmp, g, "beta", 1, dims, l->beta));
    if (l->moving_mean) PetscCall(mc__io_h5_write_floats(tmp, g, "moving_mean", 1, dims, l->moving_mean));
    if (l->moving_var) PetscCall(mc__io_h5_write_floats(tmp, g, "moving_var", 1, dims, l->moving_var));
    MCCallHDF5(H5Gclose(g), path, "a group");
  }
  MCCallHDF5(H5Gclose(layers), path, "a group");
  PetscFunctionReturn(0);
}

PetscErrorCode mc_io_model_write_native(const MCModel *m, const char *path)
{
  char           tmp[PETSC_MAX_PATH_LEN + 8];
  hid_t          fapl, file;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  mc__io_h5_silence();
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", path));
  /* H5F_CLOSE_STRONG: after a failed write (a full disk) closing the file closes what the failure left
     open, so HDF5 does not try again, and crash, at exit. */
  MCCallHDF5(fapl = H5Pcreate(H5P_FILE_ACCESS), tmp, "its file access list");
  MCCallHDF5(H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG), tmp, "its file access list");
  file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  (void)H5Pclose(fapl);
  PetscCheck(file >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot create model file %s (directory missing or not writable?)", tmp);
  ierr = write_native_body(file, tmp, m);
  if (ierr) {
    (void)H5Fclose(file);
    (void)remove(tmp);
  }
  PetscCall(ierr);
  if (H5Fclose(file) < 0) {
    (void)remove(tmp);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot finish writing %s (disk full?)", tmp);
  }
  PetscCheck(rename(tmp, path) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "cannot rename %s to %s", tmp, path);
  PetscFunctionReturn(0);
}

/* Read an optional 1-D tensor of n entries. */
static PetscErrorCode read_vector(const char *path, hid_t g, const char *gname, const char *name, PetscInt n, double budget, float **out)
{
  PetscBool has = PETSC_FALSE;
  PetscInt  ndim, dims[MC_IO_MAX_DIMS];

  PetscFunctionBeginUser;
  PetscCall(mc__io_h5_exists(g, name, &has));
  if (!has) PetscFunctionReturn(0);
  PetscCall(mc__io_h5_read_floats(path, g, name, budget, &ndim, dims, out));
  PetscCheck(ndim == 1 && dims[0] == n, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s/%s should have %" PetscInt_FMT " entries, found shape with %" PetscInt_FMT " dimensions and %" PetscInt_FMT " first", path, gname, name, n, ndim, dims[0]);
  PetscFunctionReturn(0);
}

static PetscErrorCode read_pair(const char *path, hid_t g, const char *gname, const char *name, PetscInt *a, PetscInt *b)
{
  long long v[2];
  PetscInt  n;

  PetscFunctionBeginUser;
  PetscCall(mc__io_h5_attr_ints(path, g, gname, name, 2, &n, v));
  PetscCheck(n == 2 && v[0] >= 1 && v[1] >= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute %s of %s must be two positive integers", path, name, gname);
  *a = (PetscInt)v[0];
  *b = (PetscInt)v[1];
  PetscFunctionReturn(0);
}

PetscErrorCode mc__io_model_read_native(const char *path, double budget, MCModel **out)
{
  hid_t     file;
  char     *s = NULL;
  long long v[3];
  PetscInt  n, shape[3];
  MCModel  *m;
  double    r;

  PetscFunctionBeginUser;
  PetscCall(mc__io_h5_open_read(path, PETSC_TRUE, &file));
  PetscCall(mc__io_h5_attr_string(path, file, "the root group", "format", &s));
  PetscCheck(strcmp(s, MC_NATIVE_FORMAT) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: root attribute format is '%s', expected '%s'", path, s, MC_NATIVE_FORMAT);
  PetscCall(PetscFree(s));
  PetscCall(mc__io_h5_attr_ints(path, file, "the root group", "version", 1, &n, v));
  PetscCheck(v[0] == MC_NATIVE_VERSION, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: model file version %lld is not supported (this build reads version %d)", path, v[0], MC_NATIVE_VERSION);
  PetscCall(mc__io_h5_attr_ints(path, file, "the root group", "input_shape", 3, &n, v));
  PetscCheck(n == 3 && v[0] >= 1 && v[1] >= 1 && v[2] >= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: root attribute input_shape must be three positive integers H, W, C", path);
  for (int i = 0; i < 3; ++i) shape[i] = (PetscInt)v[i];
  PetscCall(mc__io_h5_attr_ints(path, file, "the root group", "n_layers", 1, &n, v));
  PetscCheck(v[0] >= 1 && v[0] < 1000000, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: root attribute n_layers = %lld is out of range", path, v[0]);
  PetscCall(mc_model_create((PetscInt)v[0], shape, &m));
  PetscCall(PetscStrncpy(m->source, path, sizeof(m->source)));
  PetscCall(PetscStrncpy(m->format, "native", sizeof(m->format)));
  for (PetscInt i = 0; i < m->n_layers; ++i) {
    MCLayer  *l = &m->layers[i];
    char      gname[64];
    hid_t     g;
    PetscBool has = PETSC_FALSE;
    PetscInt  ndim, dims[MC_IO_MAX_DIMS];

    layer_group_name(i, gname, sizeof(gname));
    PetscCall(mc__io_h5_exists(file, gname, &has));
    PetscCheck(has, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: group %s is missing (n_layers = %" PetscInt_FMT ")", path, gname, m->n_layers);
    MCCallHDF5(g = H5Gopen2(file, gname, H5P_DEFAULT), path, "a group");
    PetscCall(mc__io_h5_attr_string(path, g, gname, "type", &s));
    PetscCheck(mc_model_layer_type_parse(s, &l->type), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has unknown layer type '%s'", path, gname, s);
    PetscCall(PetscFree(s));
    PetscCall(mc__io_h5_attr_string(path, g, gname, "name", &s));
    PetscCall(PetscStrncpy(l->name, s, sizeof(l->name)));
    PetscCall(PetscFree(s));
    PetscCall(mc__io_h5_attr_string(path, g, gname, "activation", &s));
    PetscCheck(mc_model_activation_parse(s, &l->act), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has unknown activation '%s'", path, gname, s);
    PetscCall(PetscFree(s));
    PetscCall(mc__io_h5_attr_exists(g, "alpha", &has));
    if (has) {
      PetscCall(mc__io_h5_attr_reals(path, g, gname, "alpha", 1, &n, &r));
      l->alpha = (float)r;
    }
    switch (l->type) {
    case MC_LAYER_DENSE:
    case MC_LAYER_CONV2D:
      PetscCall(mc__io_h5_read_floats(path, g, "weight", budget, &ndim, dims, &l->weight));
      if (l->type == MC_LAYER_DENSE) {
        PetscCheck(ndim == 2, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s/weight of a dense layer must be 2-D [n_in, n_out], found %" PetscInt_FMT "-D", path, gname, ndim);
        l->n_in  = dims[0];
        l->n_out = dims[1];
      } else {
        PetscInt kh, kw;

        PetscCheck(ndim == 4, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s/weight of a conv2d layer must be 4-D [kh, kw, c_in, c_out], found %" PetscInt_FMT "-D", path, gname, ndim);
        PetscCall(read_pair(path, g, gname, "kernel", &kh, &kw));
        PetscCheck(kh == dims[0] && kw == dims[1], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s: attribute kernel %" PetscInt_FMT " x %" PetscInt_FMT " disagrees with the weight's %" PetscInt_FMT " x %" PetscInt_FMT, path, gname, kh, kw, dims[0], dims[1]);
        l->kh    = dims[0];
        l->kw    = dims[1];
        l->n_in  = dims[2];
        l->n_out = dims[3];
      }
      PetscCall(read_vector(path, g, gname, "bias", l->n_out, budget, &l->bias));
      break;
    case MC_LAYER_BATCHNORM:
      PetscCall(mc__io_h5_read_floats(path, g, "moving_mean", budget, &ndim, dims, &l->moving_mean));
      PetscCheck(ndim == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s/moving_mean must be 1-D", path, gname);
      l->n_out = dims[0];
      PetscCall(read_vector(path, g, gname, "moving_var", l->n_out, budget, &l->moving_var));
      PetscCheck(l->moving_var, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: dataset %s/moving_var is missing", path, gname);
      PetscCall(read_vector(path, g, gname, "gamma", l->n_out, budget, &l->gamma));
      PetscCall(read_vector(path, g, gname, "beta", l->n_out, budget, &l->beta));
      PetscCall(mc__io_h5_attr_reals(path, g, gname, "epsilon", 1, &n, &r));
      l->eps = (float)r;
      break;
    case MC_LAYER_DROPOUT:
      PetscCall(mc__io_h5_attr_exists(g, "rate", &has));
      if (has) {
        PetscCall(mc__io_h5_attr_reals(path, g, gname, "rate", 1, &n, &r));
        l->rate = (float)r;
      }
      break;
    default:
      break;
    }
    if (l->type == MC_LAYER_CONV2D || l->type == MC_LAYER_MAXPOOL2D || l->type == MC_LAYER_AVGPOOL2D) {
      PetscCall(read_pair(path, g, gname, "kernel", &l->kh, &l->kw));
      PetscCall(read_pair(path, g, gname, "strides", &l->stride_h, &l->stride_w));
      PetscCall(mc__io_h5_attr_string(path, g, gname, "padding", &s));
      PetscCheck(!strcmp(s, "same") || !strcmp(s, "valid"), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has padding '%s', expected same or valid", path, gname, s);
      l->padding = !strcmp(s, "same") ? MC_PAD_SAME : MC_PAD_VALID;
      PetscCall(PetscFree(s));
    }
    MCCallHDF5(H5Gclose(g), path, "a group");
  }
  MCCallHDF5(H5Fclose(file), path, "the file");
  PetscCall(mc_model_finalize_shapes(PETSC_COMM_SELF, m));
  *out = m;
  PetscFunctionReturn(0);
}
