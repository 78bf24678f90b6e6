/* src/io/model_keras.c: Keras 2 legacy HDF5 models (model.save(), or save_weights() files that carry the
   model_config attribute). The architecture comes from the root attribute model_config (JSON, Sequential
   or a Functional model whose layers form a simple chain); the weights from /model_weights/<layer>/ (or
   /<layer>/ for save_weights files), following each layer group's weight_names attribute. Keras layouts
   (Dense W[in, out], Conv2D HWIO, channels-last) are already canonical. */
#include <string.h>
#include <cjson/cJSON.h>
#include "io/io_impl.h"

typedef struct {
  const char *path;     /* the file, for messages */
  hid_t       weights;  /* /model_weights, or the root group of a save_weights file */
  PetscInt    n_names;  /* entries of layer_names */
  char      **names;
  double      budget;   /* memory a rank may hold (mc__io_check_budget) */
} KerasCtx;

static const cJSON *obj_get(const cJSON *o, const char *key)
{
  return cJSON_GetObjectItemCaseSensitive(o, key);
}

static PetscBool json_is_null_or_missing(const cJSON *v)
{
  return (!v || cJSON_IsNull(v)) ? PETSC_TRUE : PETSC_FALSE;
}

/* An integer pair from a JSON list [a, b] or a single number; `def` when missing or null. */
static PetscErrorCode json_pair(const KerasCtx *k, const char *lname, const cJSON *cfg, const char *key, PetscInt def, PetscInt *a, PetscInt *b)
{
  const cJSON *v = obj_get(cfg, key);

  PetscFunctionBeginUser;
  if (json_is_null_or_missing(v)) {
    *a = *b = def;
  } else if (cJSON_IsNumber(v)) {
    *a = *b = (PetscInt)v->valuedouble;
  } else {
    PetscCheck(cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2 && cJSON_IsNumber(cJSON_GetArrayItem(v, 0)) && cJSON_IsNumber(cJSON_GetArrayItem(v, 1)), PETSC_COMM_SELF,
               PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s': %s in model_config is not a pair of integers", k->path, lname, key);
    *a = (PetscInt)cJSON_GetArrayItem(v, 0)->valuedouble;
    *b = (PetscInt)cJSON_GetArrayItem(v, 1)->valuedouble;
  }
  PetscCheck(*a >= 1 && *b >= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s': %s in model_config must be positive", k->path, lname, key);
  PetscFunctionReturn(0);
}

static PetscErrorCode json_activation(const KerasCtx *k, const char *lname, const cJSON *cfg, const char *key, MCActivation *act)
{
  const cJSON *v = obj_get(cfg, key);

  PetscFunctionBeginUser;
  *act = MC_ACT_LINEAR;
  if (json_is_null_or_missing(v)) PetscFunctionReturn(0);
  /* Keras 3 may serialise an activation as {"class_name": "function", "config": "relu", ...}. */
  if (cJSON_IsObject(v) && cJSON_IsString(obj_get(v, "config"))) v = obj_get(v, "config");
  PetscCheck(cJSON_IsString(v), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s': activation in model_config is not a name", k->path, lname);
  PetscCheck(mc_model_activation_parse(v->valuestring, act), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: layer '%s': activation '%s' is not supported (linear, relu, sigmoid, tanh, softmax, elu, selu, softplus, gelu)", k->path, lname, v->valuestring);
  PetscFunctionReturn(0);
}

static PetscBool json_bool(const cJSON *cfg, const char *key, PetscBool def)
{
  const cJSON *v = obj_get(cfg, key);

  if (!cJSON_IsBool(v)) return def;
  return cJSON_IsTrue(v) ? PETSC_TRUE : PETSC_FALSE;
}

static double json_number(const cJSON *cfg, const char *key, double def)
{
  const cJSON *v = obj_get(cfg, key);

  return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static PetscErrorCode json_padding(const KerasCtx *k, const char *lname, const cJSON *cfg, MCPadding *pad)
{
  const cJSON *v = obj_get(cfg, "padding");

  PetscFunctionBeginUser;
  *pad = MC_PAD_VALID;
  if (json_is_null_or_missing(v)) PetscFunctionReturn(0);
  PetscCheck(cJSON_IsString(v) && (!strcmp(v->valuestring, "valid") || !strcmp(v->valuestring, "same")), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: layer '%s': padding '%s' is not supported (valid or same)", k->path, lname, cJSON_IsString(v) ? v->valuestring : "?");
  *pad = !strcmp(v->valuestring, "same") ? MC_PAD_SAME : MC_PAD_VALID;
  PetscFunctionReturn(0);
}

static PetscErrorCode json_channels_last(const KerasCtx *k, const char *lname, const cJSON *cfg)
{
  const cJSON *v = obj_get(cfg, "data_format");

  PetscFunctionBeginUser;
  PetscCheck(json_is_null_or_missing(v) || (cJSON_IsString(v) && !strcmp(v->valuestring, "channels_last")), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: layer '%s': data_format '%s' is not supported (channels_last only)", k->path, lname, cJSON_IsString(v) ? v->valuestring : "?");
  PetscFunctionReturn(0);
}

/* The weight-name suffix without the ":0" TensorFlow adds and without the scope ("dense/kernel:0" ->
   "kernel"). */
static void weight_basename(const char *full, char *out, size_t n)
{
  const char *slash = strrchr(full, '/');
  const char *b     = slash ? slash + 1 : full;
  size_t      len   = strlen(b);
  const char *colon = strrchr(b, ':');

  if (colon) len = (size_t)(colon - b);
  if (len >= n) len = n - 1;
  memcpy(out, b, len);
  out[len] = '\0';
}

/* Read the weights `want[0..n_want)` (by basename) of layer group `group`; missing optional ones stay NULL,
   missing required ones raise. Shapes are returned for each. */
static PetscErrorCode read_layer_weights(const KerasCtx *k, const char *group, PetscInt n_want, const char *const want[], const PetscBool required[], float *out[],
                                         PetscInt ndim[], PetscInt dims[][MC_IO_MAX_DIMS])
{
  PetscBool has = PETSC_FALSE;
  hid_t     g;
  PetscInt  n_w;
  char    **wn;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < n_want; ++i) out[i] = NULL;
  for (PetscInt i = 0; i < k->n_names; ++i)
    if (!strcmp(k->names[i], group)) has = PETSC_TRUE;
  PetscCheck(has, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s' is not listed in the layer_names attribute of the weights group", k->path, group);
  PetscCall(mc__io_h5_exists(k->weights, group, &has));
  PetscCheck(has, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the weights group of layer '%s' is missing", k->path, group);
  MCCallHDF5(g = H5Gopen2(k->weights, group, H5P_DEFAULT), k->path, "a weights group");
  PetscCall(mc__io_h5_attr_strings(k->path, g, group, "weight_names", &n_w, &wn));
  for (PetscInt j = 0; j < n_w; ++j) {
    char base[128];

    weight_basename(wn[j], base, sizeof(base));
    for (PetscInt i = 0; i < n_want; ++i) {
      if (strcmp(base, want[i])) continue;
      PetscCheck(!out[i], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s' lists two '%s' weights in weight_names", k->path, group, want[i]);
      PetscCall(mc__io_h5_read_floats(k->path, g, wn[j], k->budget, &ndim[i], dims[i], &out[i]));
    }
    /* Anything else (pruning mask, threshold, pruning_step, optimizer slots) is ignored. */
  }
  for (PetscInt i = 0; i < n_want; ++i)
    PetscCheck(out[i] || !required[i], PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s' has no '%s' weight (weight_names lists %" PetscInt_FMT " entries)", k->path, group, want[i], n_w);
  PetscCall(mc__io_strings_free(n_w, &wn));
  MCCallHDF5(H5Gclose(g), k->path, "a weights group");
  PetscFunctionReturn(0);
}

static PetscErrorCode check_vector(const KerasCtx *k, const char *lname, const char *what, PetscInt ndim, const PetscInt dims[], PetscInt n)
{
  PetscFunctionBeginUser;
  PetscCheck(ndim == 1 && dims[0] == n, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: layer '%s': %s has %" PetscInt_FMT " entries, expected %" PetscInt_FMT, k->path, lname, what,
             ndim == 1 ? dims[0] : -1, n);
  PetscFunctionReturn(0);
}

/* Input shape [batch, d...] from an InputLayer's or first layer's config; *found = PETSC_FALSE if absent. */
static PetscErrorCode json_input_shape(const KerasCtx *k, const cJSON *cfg, PetscInt shape[3], PetscBool *found)
{
  const cJSON *v = obj_get(cfg, "batch_input_shape");
  PetscInt     n, d[3];

  PetscFunctionBeginUser;
  *found = PETSC_FALSE;
  if (!cJSON_IsArray(v)) v = obj_get(cfg, "batch_shape"); /* Keras 3 */
  if (!cJSON_IsArray(v)) PetscFunctionReturn(0);
  n = cJSON_GetArraySize(v) - 1;
  PetscCheck(n >= 1 && n <= 3, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: input shape in model_config has %" PetscInt_FMT " dimensions, expected 1 to 3", k->path, n);
  for (PetscInt i = 0; i < n; ++i) {
    const cJSON *e = cJSON_GetArrayItem(v, (int)i + 1);

    PetscCheck(cJSON_IsNumber(e) && e->valuedouble >= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: input shape in model_config has an unknown or invalid dimension %" PetscInt_FMT, k->path,
               i + 1);
    d[i] = (PetscInt)e->valuedouble;
  }
  /* Canonical H, W, C: a vector is 1 x 1 x n, an image without channels H x W x 1. */
  if (n == 1) shape[0] = 1, shape[1] = 1, shape[2] = d[0];
  else if (n == 2) shape[0] = d[0], shape[1] = d[1], shape[2] = 1;
  else shape[0] = d[0], shape[1] = d[1], shape[2] = d[2];
  *found = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* Name of the single layer feeding a Functional-model layer, or NULL if the format is not recognised.
   Raises if the layer has several inputs. */
static PetscErrorCode inbound_name(const KerasCtx *k, const char *lname, const cJSON *layer, const char **in)
{
  const cJSON *nodes = obj_get(layer, "inbound_nodes"), *node, *first;

  PetscFunctionBeginUser;
  *in = NULL;
  if (!cJSON_IsArray(nodes) || cJSON_GetArraySize(nodes) == 0) PetscFunctionReturn(0);
  PetscCheck(cJSON_GetArraySize(nodes) == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s' is called %d times; only simple chains of layers are supported", k->path, lname,
             cJSON_GetArraySize(nodes));
  node = cJSON_GetArrayItem(nodes, 0);
  if (cJSON_IsArray(node)) { /* Keras 2: [[["dense", 0, 0, {}]]] */
    PetscCheck(cJSON_GetArraySize(node) == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s' has %d inputs; only simple chains of layers are supported", k->path, lname,
               cJSON_GetArraySize(node));
    first = cJSON_GetArrayItem(node, 0);
    if (cJSON_IsArray(first) && cJSON_IsString(cJSON_GetArrayItem(first, 0))) *in = cJSON_GetArrayItem(first, 0)->valuestring;
  } else if (cJSON_IsObject(node)) { /* Keras 3: {"args": [{"config": {"keras_history": ["dense", 0, 0]}}]} */
    const cJSON *args = obj_get(node, "args"), *h;

    if (cJSON_IsArray(args) && cJSON_GetArraySize(args) >= 1) {
      PetscCheck(cJSON_GetArraySize(args) == 1 && !cJSON_IsArray(cJSON_GetArrayItem(args, 0)), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                 "%s: layer '%s' has several inputs; only simple chains of layers are supported", k->path, lname);
      h = obj_get(obj_get(cJSON_GetArrayItem(args, 0), "config"), "keras_history");
      if (cJSON_IsArray(h) && cJSON_IsString(cJSON_GetArrayItem(h, 0))) *in = cJSON_GetArrayItem(h, 0)->valuestring;
    }
  }
  PetscFunctionReturn(0);
}

/* Convert one (non-input) layer description into *l, reading its weights. */
static PetscErrorCode convert_layer(const KerasCtx *k, const char *cls, const cJSON *cfg, const char *group, MCLayer *l, int *bn_axis)
{
  const cJSON *nm    = obj_get(cfg, "name");
  const char  *lname = cJSON_IsString(nm) ? nm->valuestring : "?";

  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(l->name, lname, sizeof(l->name)));
  if (!strcmp(cls, "Dense")) {
    const char *want[2] = {"kernel", "bias"};
    PetscBool   req[2]  = {PETSC_TRUE, PETSC_FALSE};
    float      *w[2];
    PetscInt    nd[2], dims[2][MC_IO_MAX_DIMS];
    PetscInt    units = (PetscInt)json_number(cfg, "units", 0);

    l->type = MC_LAYER_DENSE;
    PetscCall(json_activation(k, lname, cfg, "activation", &l->act));
    req[1] = json_bool(cfg, "use_bias", PETSC_TRUE);
    PetscCall(read_layer_weights(k, group, 2, want, req, w, nd, dims));
    PetscCheck(nd[0] == 2, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: layer '%s': kernel has %" PetscInt_FMT " dimensions, expected 2 [in, units]", k->path, lname, nd[0]);
    PetscCheck(units == 0 || dims[0][1] == units, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: layer '%s': kernel has %" PetscInt_FMT " columns but units = %" PetscInt_FMT, k->path, lname,
               dims[0][1], units);
    l->n_in   = dims[0][0];
    l->n_out  = dims[0][1];
    l->weight = w[0];
    l->bias   = req[1] ? w[1] : NULL;
    if (!req[1]) PetscCall(PetscFree(w[1]));
    if (l->bias) PetscCall(check_vector(k, lname, "bias", nd[1], dims[1], l->n_out));
  } else if (!strcmp(cls, "Conv2D")) {
    const char *want[2] = {"kernel", "bias"};
    PetscBool   req[2]  = {PETSC_TRUE, PETSC_FALSE};
    float      *w[2];
    PetscInt    nd[2], dims[2][MC_IO_MAX_DIMS], kh, kw, dh, dw, filters = (PetscInt)json_number(cfg, "filters", 0);

    l->type = MC_LAYER_CONV2D;
    PetscCall(json_channels_last(k, lname, cfg));
    PetscCall(json_activation(k, lname, cfg, "activation", &l->act));
    PetscCall(json_pair(k, lname, cfg, "kernel_size", 1, &kh, &kw));
    PetscCall(json_pair(k, lname, cfg, "strides", 1, &l->stride_h, &l->stride_w));
    PetscCall(json_pair(k, lname, cfg, "dilation_rate", 1, &dh, &dw));
    PetscCheck(dh == 1 && dw == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s': dilation_rate %" PetscInt_FMT " x %" PetscInt_FMT " is not supported", k->path, lname, dh, dw);
    PetscCheck(json_number(cfg, "groups", 1) == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s': grouped convolution is not supported", k->path, lname);
    PetscCall(json_padding(k, lname, cfg, &l->padding));
    req[1] = json_bool(cfg, "use_bias", PETSC_TRUE);
    PetscCall(read_layer_weights(k, group, 2, want, req, w, nd, dims));
    PetscCheck(nd[0] == 4, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: layer '%s': kernel has %" PetscInt_FMT " dimensions, expected 4 [kh, kw, c_in, filters]", k->path, lname, nd[0]);
    PetscCheck(dims[0][0] == kh && dims[0][1] == kw && (filters == 0 || dims[0][3] == filters), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s: layer '%s': kernel shape %" PetscInt_FMT " x %" PetscInt_FMT " x %" PetscInt_FMT " x %" PetscInt_FMT " disagrees with kernel_size %" PetscInt_FMT " x %" PetscInt_FMT " and filters %" PetscInt_FMT,
               k->path, lname, dims[0][0], dims[0][1], dims[0][2], dims[0][3], kh, kw, filters);
    l->kh     = kh;
    l->kw     = kw;
    l->n_in   = dims[0][2];
    l->n_out  = dims[0][3];
    l->weight = w[0];
    l->bias   = req[1] ? w[1] : NULL;
    if (!req[1]) PetscCall(PetscFree(w[1]));
    if (l->bias) PetscCall(check_vector(k, lname, "bias", nd[1], dims[1], l->n_out));
  } else if (!strcmp(cls, "MaxPooling2D") || !strcmp(cls, "AveragePooling2D") || !strcmp(cls, "MaxPool2D") || !strcmp(cls, "AvgPool2D")) {
    l->type = strstr(cls, "Max") ? MC_LAYER_MAXPOOL2D : MC_LAYER_AVGPOOL2D;
    PetscCall(json_channels_last(k, lname, cfg));
    PetscCall(json_pair(k, lname, cfg, "pool_size", 2, &l->kh, &l->kw));
    PetscCall(json_pair(k, lname, cfg, "strides", 1, &l->stride_h, &l->stride_w));
    if (json_is_null_or_missing(obj_get(cfg, "strides"))) l->stride_h = l->kh, l->stride_w = l->kw;
    PetscCall(json_padding(k, lname, cfg, &l->padding));
  } else if (!strcmp(cls, "Flatten")) {
    l->type = MC_LAYER_FLATTEN;
    PetscCall(json_channels_last(k, lname, cfg));
  } else if (!strcmp(cls, "Activation")) {
    l->type = MC_LAYER_ACTIVATION;
    PetscCall(json_activation(k, lname, cfg, "activation", &l->act));
  } else if (!strcmp(cls, "ReLU")) {
    double slope = json_number(cfg, "negative_slope", 0);

    l->type = MC_LAYER_ACTIVATION;
    PetscCheck(json_is_null_or_missing(obj_get(cfg, "max_value")), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s': ReLU with max_value is not supported", k->path, lname);
    PetscCheck(json_number(cfg, "threshold", 0) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s': ReLU with a threshold is not supported", k->path, lname);
    l->act   = slope != 0 ? MC_ACT_LEAKY_RELU : MC_ACT_RELU;
    l->alpha = (float)slope;
  } else if (!strcmp(cls, "LeakyReLU")) {
    l->type  = MC_LAYER_ACTIVATION;
    l->act   = MC_ACT_LEAKY_RELU;
    l->alpha = (float)json_number(cfg, "alpha", json_number(cfg, "negative_slope", 0.3));
  } else if (!strcmp(cls, "Softmax")) {
    const cJSON *ax = obj_get(cfg, "axis");

    l->type = MC_LAYER_SOFTMAX;
    PetscCheck(json_is_null_or_missing(ax) || (cJSON_IsNumber(ax) && ax->valuedouble == -1), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s': Softmax over an axis other than -1 is not supported",
               k->path, lname);
  } else if (!strcmp(cls, "Dropout") || !strcmp(cls, "SpatialDropout2D") || !strcmp(cls, "GaussianDropout") || !strcmp(cls, "GaussianNoise") || !strcmp(cls, "AlphaDropout")) {
    l->type = MC_LAYER_DROPOUT; /* all identities at inference */
    l->rate = (float)json_number(cfg, "rate", 0);
  } else if (!strcmp(cls, "BatchNormalization")) {
    const char  *want[4] = {"gamma", "beta", "moving_mean", "moving_variance"};
    PetscBool    req[4]  = {PETSC_TRUE, PETSC_TRUE, PETSC_TRUE, PETSC_TRUE};
    float       *w[4];
    PetscInt     nd[4], dims[4][MC_IO_MAX_DIMS];
    const cJSON *ax = obj_get(cfg, "axis");

    l->type = MC_LAYER_BATCHNORM;
    req[0]  = json_bool(cfg, "scale", PETSC_TRUE);
    req[1]  = json_bool(cfg, "center", PETSC_TRUE);
    l->eps  = (float)json_number(cfg, "epsilon", 1e-3);
    if (cJSON_IsArray(ax)) {
      PetscCheck(cJSON_GetArraySize(ax) == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s': BatchNormalization over several axes is not supported", k->path, lname);
      ax = cJSON_GetArrayItem(ax, 0);
    }
    *bn_axis = cJSON_IsNumber(ax) ? (int)ax->valuedouble : -1;
    PetscCall(read_layer_weights(k, group, 4, want, req, w, nd, dims));
    PetscCheck(nd[2] == 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: layer '%s': moving_mean is not a vector", k->path, lname);
    l->n_out = dims[2][0];
    for (int i = 0; i < 4; ++i) {
      if (!req[i]) PetscCall(PetscFree(w[i]));
      if (w[i]) PetscCall(check_vector(k, lname, want[i], nd[i], dims[i], l->n_out));
    }
    l->gamma       = w[0];
    l->beta        = w[1];
    l->moving_mean = w[2];
    l->moving_var  = w[3];
  } else {
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
            "%s: layer '%s' of class %s is not supported (supported: Dense, Conv2D, MaxPooling2D, AveragePooling2D, Flatten, Activation, ReLU, LeakyReLU, BatchNormalization, Dropout, Softmax, InputLayer)",
            k->path, lname, cls);
  }
  PetscFunctionReturn(0);
}

PetscErrorCode mc__io_model_read_keras(const char *path, double budget, MCModel **out)
{
  hid_t        file;
  char        *text = NULL;
  cJSON       *root;
  const cJSON *cls, *cfg, *layers, *item;
  PetscBool    has = PETSC_FALSE, have_shape = PETSC_FALSE, functional;
  PetscInt     shape[3] = {1, 1, 1}, n = 0, n_json;
  KerasCtx     k;
  MCModel     *m;
  int         *bn_axis;
  const char  *prev = NULL;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(&k, sizeof(k)));
  k.path   = path;
  k.budget = budget;
  PetscCall(mc__io_h5_open_read(path, PETSC_TRUE, &file));
  PetscCall(mc__io_h5_attr_exists(file, "model_config", &has));
  PetscCheck(has, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s has Keras weights but no model_config attribute (the architecture): save the model with model.save(), or give the layers as [layer.N] sections with a safetensors file", path);
  PetscCall(mc__io_h5_attr_string(path, file, "the root group", "model_config", &text));
  root = cJSON_Parse(text);
  PetscCheck(root, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: root attribute model_config is not valid JSON (near '%.40s')", path, cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() : "");
  PetscCall(PetscFree(text));
  cls = obj_get(root, "class_name");
  cfg = obj_get(root, "config");
  PetscCheck(cJSON_IsString(cls), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: model_config has no class_name", path);
  functional = (!strcmp(cls->valuestring, "Functional") || !strcmp(cls->valuestring, "Model")) ? PETSC_TRUE : PETSC_FALSE;
  PetscCheck(functional || !strcmp(cls->valuestring, "Sequential"), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: model_config class %s is not supported (Sequential, or a Functional model that is a simple chain)", path, cls->valuestring);
  layers = cJSON_IsArray(cfg) ? cfg : obj_get(cfg, "layers"); /* Keras 2.2 stored a Sequential's list directly */
  PetscCheck(cJSON_IsArray(layers) && cJSON_GetArraySize(layers) > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: model_config lists no layers", path);

  /* Weights: /model_weights for model.save(), the root group for save_weights(). */
  PetscCall(mc__io_h5_exists(file, "model_weights", &has));
  if (has) MCCallHDF5(k.weights = H5Gopen2(file, "model_weights", H5P_DEFAULT), path, "a group");
  else MCCallHDF5(k.weights = H5Gopen2(file, "/", H5P_DEFAULT), path, "a group");
  PetscCall(mc__io_h5_attr_strings(path, k.weights, has ? "/model_weights" : "the root group", "layer_names", &k.n_names, &k.names));

  n_json = cJSON_GetArraySize(layers);
  PetscCall(mc_model_create(n_json, shape, &m));
  PetscCall(PetscCalloc1(n_json, &bn_axis));
  cJSON_ArrayForEach(item, layers)
  {
    const cJSON *lcls = obj_get(item, "class_name"), *lcfg = obj_get(item, "config"), *nm;
    const char  *c, *group;

    PetscCheck(cJSON_IsString(lcls) && cJSON_IsObject(lcfg), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: model_config layer %" PetscInt_FMT " lacks class_name or config", path, n);
    c  = lcls->valuestring;
    nm = obj_get(lcfg, "name");
    PetscCheck(cJSON_IsString(nm), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: a %s layer in model_config has no name", path, c);
    group = nm->valuestring;
    if (functional && strcmp(c, "InputLayer")) {
      const char *in;

      PetscCall(inbound_name(&k, group, item, &in));
      PetscCheck(!in || !prev || !strcmp(in, prev), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                 "%s: layer '%s' takes its input from '%s', not from the layer before it ('%s'); only simple chains of layers are supported", path, group, in, prev);
    }
    prev = group;
    if (!have_shape) PetscCall(json_input_shape(&k, lcfg, shape, &have_shape));
    if (!strcmp(c, "InputLayer")) {
      PetscCheck(!functional || n == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: InputLayer '%s' in the middle of the model is not supported", path, group);
      continue;
    }
    /* Pruning wrappers: the wrapped layer's description, weights in the wrapper's group. */
    if (!strcmp(c, "PruneLowMagnitude") || cJSON_IsObject(obj_get(lcfg, "layer"))) {
      const cJSON *inner = obj_get(lcfg, "layer");

      PetscCheck(cJSON_IsObject(inner) && cJSON_IsString(obj_get(inner, "class_name")) && cJSON_IsObject(obj_get(inner, "config")), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                 "%s: wrapper layer '%s' (%s) has no wrapped layer description", path, group, c);
      PetscCheck(!strcmp(c, "PruneLowMagnitude") || !strncmp(group, "prune_low_magnitude_", 20), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                 "%s: wrapper layer '%s' of class %s is not supported (only pruning wrappers)", path, group, c);
      if (!have_shape) PetscCall(json_input_shape(&k, obj_get(inner, "config"), shape, &have_shape));
      PetscCall(convert_layer(&k, obj_get(inner, "class_name")->valuestring, obj_get(inner, "config"), group, &m->layers[n], &bn_axis[n]));
    } else {
      PetscCall(convert_layer(&k, c, lcfg, group, &m->layers[n], &bn_axis[n]));
    }
    ++n;
  }
  m->n_layers = n;
  if (!have_shape && n > 0 && m->layers[0].type == MC_LAYER_DENSE) { /* a Sequential built without an input shape */
    shape[0] = shape[1] = 1;
    shape[2]            = m->layers[0].n_in;
    have_shape          = PETSC_TRUE;
  }
  PetscCheck(have_shape, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: model_config has no input shape (batch_input_shape) and the first layer is not Dense", path);
  for (int i = 0; i < 3; ++i) m->input_shape[i] = shape[i];
  PetscCall(PetscStrncpy(m->source, path, sizeof(m->source)));
  PetscCall(PetscStrncpy(m->format, "keras", sizeof(m->format)));
  PetscCall(mc_model_finalize_shapes(PETSC_COMM_SELF, m));
  for (PetscInt i = 0; i < n; ++i) {
    const MCLayer *l    = &m->layers[i];
    int            rank = (l->in_shape[0] * l->in_shape[1] == 1) ? 1 : 3;

    if (l->type != MC_LAYER_BATCHNORM) continue;
    PetscCheck(bn_axis[i] == -1 || bn_axis[i] == rank, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s': BatchNormalization over axis %d is not supported (only the last axis)", path, l->name,
               bn_axis[i]);
  }
  PetscCall(PetscFree(bn_axis));
  PetscCall(mc__io_strings_free(k.n_names, &k.names));
  MCCallHDF5(H5Gclose(k.weights), path, "a group");
  MCCallHDF5(H5Fclose(file), path, "the file");
  cJSON_Delete(root);
  *out = m;
  PetscFunctionReturn(0);
}
