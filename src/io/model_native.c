/* src/io/model_native.c: the native modclust HDF5 model file (docs/formats.md, "Native model file"):
   root attributes format = "modclust-model", version = 1, input_shape = [H, W, C], n_layers; one group
   per layer /layers/000, /layers/001, ... with attributes type, name, activation (+ geometry) and the
   tensors weight, bias, gamma, beta, moving_mean, moving_var in the canonical layout of mc/model.h. The
   graph: root attribute outputs and per-layer attribute inputs (layer numbers, -1 = the model input); a
   file without them is a chain. */
#include <stdio.h>
#include <string.h>
#include "io/io_impl.h"

#define MC_NATIVE_FORMAT  "modclust-model"
#define MC_NATIVE_VERSION 1
#define MC_NATIVE_MAX_INPUTS 4096 /* producers one layer may read */

static void layer_group_name(PetscInt i, char *buf, size_t n)
{
  snprintf(buf, n, "/layers/%03d", (int)i);
}

/* An attribute of layer indices (inputs, outputs). */
static PetscErrorCode write_index_attr(const char *tmp, hid_t loc, const char *name, PetscInt n, const PetscInt idx[])
{
  long long *v;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(n > 0 ? n : 1, &v));
  for (PetscInt i = 0; i < n; ++i) v[i] = idx[i];
  PetscCall(mc__io_h5_write_attr_ints(tmp, loc, name, n, v));
  PetscCall(PetscFree(v));
  PetscFunctionReturn(0);
}

/* Read an optional attribute of layer indices into the model (inputs of layer `li`, or outputs for li < 0). */
static PetscErrorCode read_index_attr(const char *path, hid_t loc, const char *what, const char *name, MCModel *m, PetscInt li)
{
  PetscBool  has = PETSC_FALSE;
  PetscInt   n, *idx;
  long long *v;

  PetscFunctionBeginUser;
  PetscCall(mc__io_h5_attr_exists(loc, name, &has));
  if (!has) PetscFunctionReturn(0);
  PetscCall(PetscMalloc2(MC_NATIVE_MAX_INPUTS, &v, MC_NATIVE_MAX_INPUTS, &idx));
  PetscCall(mc__io_h5_attr_ints(path, loc, what, name, MC_NATIVE_MAX_INPUTS, &n, v));
  for (PetscInt i = 0; i < n; ++i) {
    PetscCheck(v[i] >= (li < 0 ? 0 : -1) && v[i] < (li < 0 ? m->n_layers : li), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s: attribute %s entry %lld is not %s", path, what, name, v[i],
               li < 0 ? "a layer of the model" : "an earlier layer (or -1, the model input)");
    idx[i] = (PetscInt)v[i];
  }
  if (li < 0) PetscCall(mc_model_set_outputs(m, n, idx));
  else PetscCall(mc_model_set_inputs(&m->layers[li], n, idx));
  PetscCall(PetscFree2(v, idx));
  PetscFunctionReturn(0);
}

/* Everything but the file itself; tmp names the file in messages. */
static PetscErrorCode write_native_body(hid_t file, const char *tmp, const MCModel *m)
{
  const char *path = tmp;
  hid_t       layers;
  long long   v[3], v4[4];

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
  PetscCall(write_index_attr(tmp, file, "outputs", m->n_outputs, m->outputs));
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
    if (l->act == MC_ACT_HARD_SIGMOID || l->act == MC_ACT_CLIP) PetscCall(mc__io_h5_write_attr_real(tmp, g, "act_beta", (double)l->act_beta));
    PetscCall(write_index_attr(tmp, g, "inputs", l->n_inputs, l->inputs));
    if (l->padding == MC_PAD_EXPLICIT || l->type == MC_LAYER_ZEROPAD2D) {
      v4[0] = l->pad_t, v4[1] = l->pad_b, v4[2] = l->pad_l, v4[3] = l->pad_r;
      PetscCall(mc__io_h5_write_attr_ints(tmp, g, "pads", 4, v4));
    }
    switch (l->type) {
    case MC_LAYER_DENSE:
      dims[0] = l->n_in;
      dims[1] = l->n_out;
      PetscCall(mc__io_h5_write_floats(tmp, g, "weight", 2, dims, l->weight));
      break;
    case MC_LAYER_CONV2D:
      dims[0] = l->kh;
      dims[1] = l->kw;
      dims[2] = l->n_in / l->groups;
      dims[3] = l->n_out;
      PetscCall(mc__io_h5_write_floats(tmp, g, "weight", 4, dims, l->weight));
      v[0] = l->groups;
      PetscCall(mc__io_h5_write_attr_ints(tmp, g, "groups", 0, v));
      v[0] = l->dil_h;
      v[1] = l->dil_w;
      PetscCall(mc__io_h5_write_attr_ints(tmp, g, "dilation", 2, v));
      /* fall through */
    case MC_LAYER_MAXPOOL2D:
    case MC_LAYER_AVGPOOL2D:
      v[0] = l->kh;
      v[1] = l->kw;
      PetscCall(mc__io_h5_write_attr_ints(tmp, g, "kernel", 2, v));
      v[0] = l->stride_h;
      v[1] = l->stride_w;
      PetscCall(mc__io_h5_write_attr_ints(tmp, g, "strides", 2, v));
      PetscCall(mc__io_h5_write_attr_string(tmp, g, "padding", mc_model_padding_name(l->padding)));
      break;
    case MC_LAYER_UPSAMPLE2D:
      v[0] = l->kh;
      v[1] = l->kw;
      PetscCall(mc__io_h5_write_attr_ints(tmp, g, "size", 2, v));
      break;
    case MC_LAYER_RESHAPE:
      for (int d = 0; d < 3; ++d) v[d] = l->target[d];
      PetscCall(mc__io_h5_write_attr_ints(tmp, g, "target", 3, v));
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
  PetscCall(read_index_attr(path, file, "the root group", "outputs", m, -1));
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
    PetscCall(mc__io_h5_attr_exists(g, "act_beta", &has));
    if (has) {
      PetscCall(mc__io_h5_attr_reals(path, g, gname, "act_beta", 1, &n, &r));
      l->act_beta = (float)r;
    }
    PetscCall(read_index_attr(path, g, gname, "inputs", m, i));
    PetscCall(mc__io_h5_attr_exists(g, "pads", &has));
    if (has) {
      long long p[4];

      PetscCall(mc__io_h5_attr_ints(path, g, gname, "pads", 4, &n, p));
      PetscCheck(n == 4 && p[0] >= 0 && p[1] >= 0 && p[2] >= 0 && p[3] >= 0 && p[0] < 1 << 20 && p[1] < 1 << 20 && p[2] < 1 << 20 && p[3] < 1 << 20, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                 "%s: attribute pads of %s must be four non-negative integers (top, bottom, left, right)", path, gname);
      l->pad_t = (PetscInt)p[0], l->pad_b = (PetscInt)p[1], l->pad_l = (PetscInt)p[2], l->pad_r = (PetscInt)p[3];
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
        l->n_out = dims[3];
        l->groups = 1;
        PetscCall(mc__io_h5_attr_exists(g, "groups", &has));
        if (has) {
          PetscCall(mc__io_h5_attr_ints(path, g, gname, "groups", 1, &n, v));
          PetscCheck(v[0] >= 1 && v[0] <= l->n_out, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: attribute groups of %s is %lld, expected 1 to the %" PetscInt_FMT " output channels", path, gname, v[0], l->n_out);
          l->groups = (PetscInt)v[0];
        }
        l->n_in = dims[2] * l->groups;
        PetscCall(mc__io_h5_attr_exists(g, "dilation", &has));
        if (has) PetscCall(read_pair(path, g, gname, "dilation", &l->dil_h, &l->dil_w));
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
    case MC_LAYER_UPSAMPLE2D:
      PetscCall(read_pair(path, g, gname, "size", &l->kh, &l->kw));
      break;
    case MC_LAYER_RESHAPE:
      PetscCall(mc__io_h5_attr_ints(path, g, gname, "target", 3, &n, v));
      PetscCheck(n == 3 && v[0] >= 1 && v[1] >= 1 && v[2] >= 1 && v[0] < 1 << 30 && v[1] < 1 << 30 && v[2] < 1 << 30, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                 "%s: attribute target of %s must be three positive integers H, W, C", path, gname);
      for (int d = 0; d < 3; ++d) l->target[d] = (PetscInt)v[d];
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
      PetscCheck(!strcmp(s, "same") || !strcmp(s, "valid") || !strcmp(s, "explicit"), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %s has padding '%s', expected same, valid or explicit", path, gname, s);
      l->padding = !strcmp(s, "same") ? MC_PAD_SAME : !strcmp(s, "explicit") ? MC_PAD_EXPLICIT : MC_PAD_VALID;
      PetscCall(PetscFree(s));
    }
    MCCallHDF5(H5Gclose(g), path, "a group");
  }
  MCCallHDF5(H5Fclose(file), path, "the file");
  PetscCall(mc_model_finalize_shapes(PETSC_COMM_SELF, m));
  *out = m;
  PetscFunctionReturn(0);
}
