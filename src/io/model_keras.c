/* src/io/model_keras.c: Keras 2 legacy HDF5 models (model.save(), or save_weights() files that carry the
   model_config attribute). The architecture comes from the root attribute model_config (JSON: Sequential,
   or a Functional model - any directed acyclic graph of layers, as Keras Applications writes ResNet,
   MobileNet, Inception, DenseNet); the weights from /model_weights/<layer>/ (or /<layer>/ for save_weights
   files), following each layer group's weight_names attribute. Keras layouts (Dense W[in, out], Conv2D
   HWIO, DepthwiseConv2D [kh, kw, C, multiplier], channels-last) are already canonical. */
#include <string.h>
#include <cjson/cJSON.h>
#include "io/io_impl.h"

typedef struct {
  const char *path;     /* the file, for messages */
  hid_t       weights;  /* /model_weights, or the root group of a save_weights file */
  PetscInt    n_names;  /* entries of layer_names */
  char      **names;
  double      budget;   /* memory a rank may hold (mc__io_check_budget) */
  PetscBool   keras3;   /* written by Keras 3 (root attribute keras_version) */
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

/* A pair of non-negative integers [a, b] or one number for both (padding). */
static PetscErrorCode json_pair_nonneg(const KerasCtx *k, const char *lname, const cJSON *v, const char *key, PetscInt *a, PetscInt *b)
{
  const cJSON *x = v, *y = v;

  PetscFunctionBeginUser;
  if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2) x = cJSON_GetArrayItem(v, 0), y = cJSON_GetArrayItem(v, 1);
  PetscCheck(cJSON_IsNumber(x) && cJSON_IsNumber(y) && x->valuedouble >= 0 && y->valuedouble >= 0 && x->valuedouble < 1e6 && y->valuedouble < 1e6, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: layer '%s': %s in model_config is not a non-negative integer or a pair of them", k->path, lname, key);
  *a = (PetscInt)x->valuedouble;
  *b = (PetscInt)y->valuedouble;
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
  if (!strcmp(v->valuestring, "silu")) *act = MC_ACT_SWISH;
  else if (!strcmp(v->valuestring, "hard_silu")) *act = MC_ACT_HARD_SWISH;
  else
    PetscCheck(mc_model_activation_parse(v->valuestring, act) && *act != MC_ACT_LEAKY_RELU && *act != MC_ACT_CLIP, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "%s: layer '%s': activation '%s' is not supported (linear, relu, relu6, sigmoid, hard_sigmoid, tanh, softmax, elu, selu, softplus, gelu, swish, silu, hard_swish)", k->path, lname,
               v->valuestring);
  PetscFunctionReturn(0);
}

/* Parameters of a named activation: Keras 2's hard_sigmoid is clip(0.2 x + 0.5), Keras 3's relu6(x + 3) / 6. */
static void activation_params(const KerasCtx *k, MCLayer *l)
{
  if (l->act == MC_ACT_HARD_SIGMOID) {
    l->alpha    = k->keras3 ? 1.0f / 6.0f : 0.2f;
    l->act_beta = 0.5f;
  }
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

/* Keras 2 inbound entry [name, node, tensor, kwargs] or Keras 3 tensor {"config": {"keras_history": [name,
   node, tensor]}}: the producing layer's name, or NULL if e is neither. */
static PetscErrorCode history_name(const KerasCtx *k, const char *lname, const cJSON *e, const char **name)
{
  const cJSON *h = e;

  PetscFunctionBeginUser;
  *name = NULL;
  if (cJSON_IsObject(e)) h = obj_get(obj_get(e, "config"), "keras_history");
  if (!cJSON_IsArray(h) || !cJSON_IsString(cJSON_GetArrayItem(h, 0))) PetscFunctionReturn(0);
  PetscCheck(!cJSON_IsNumber(cJSON_GetArrayItem(h, 2)) || cJSON_GetArrayItem(h, 2)->valuedouble == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s: layer '%s' reads output %g of layer '%s'; layers with several outputs are not supported", k->path, lname, cJSON_GetArrayItem(h, 2)->valuedouble, cJSON_GetArrayItem(h, 0)->valuestring);
  *name = cJSON_GetArrayItem(h, 0)->valuestring;
  PetscFunctionReturn(0);
}

/* The names of the layers feeding a Functional-model layer (pointers into the JSON), *n of them, at most
   max. A layer called more than once (a shared layer) is refused. */
static PetscErrorCode inbound_names(const KerasCtx *k, const char *lname, const cJSON *layer, PetscInt max, PetscInt *n, const char *in[])
{
  const cJSON *nodes = obj_get(layer, "inbound_nodes"), *node, *e;

  PetscFunctionBeginUser;
  *n = 0;
  if (!cJSON_IsArray(nodes) || cJSON_GetArraySize(nodes) == 0) PetscFunctionReturn(0);
  PetscCheck(cJSON_GetArraySize(nodes) == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s' is called %d times; shared layers are not supported", k->path, lname,
             cJSON_GetArraySize(nodes));
  node = cJSON_GetArrayItem(nodes, 0);
  if (cJSON_IsObject(node)) { /* Keras 3: {"args": [tensor or [tensors]], "kwargs": {}} */
    const cJSON *args = obj_get(node, "args");

    PetscCheck(cJSON_IsArray(args) && cJSON_GetArraySize(args) >= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s': inbound node has no args", k->path, lname);
    node = cJSON_GetArrayItem(args, 0);
    if (!cJSON_IsArray(node)) node = args;
  }
  PetscCheck(cJSON_IsArray(node), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s': inbound_nodes is not a list of inputs", k->path, lname);
  cJSON_ArrayForEach(e, node)
  {
    const char *name;

    PetscCall(history_name(k, lname, e, &name));
    if (!name) continue; /* a constant argument */
    PetscCheck(*n < max, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s' has more than %" PetscInt_FMT " inputs", k->path, lname, max);
    in[(*n)++] = name;
  }
  PetscCheck(*n >= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s': no input found in inbound_nodes", k->path, lname);
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
    l->dil_h  = dh;
    l->dil_w  = dw;
    l->groups = (PetscInt)json_number(cfg, "groups", 1);
    PetscCheck(l->groups >= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s': groups = %" PetscInt_FMT " must be positive", k->path, lname, l->groups);
    PetscCheck(dh == 1 || l->stride_h == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s': Keras refuses dilation with strides", k->path, lname);
    PetscCall(json_padding(k, lname, cfg, &l->padding));
    req[1] = json_bool(cfg, "use_bias", PETSC_TRUE);
    PetscCall(read_layer_weights(k, group, 2, want, req, w, nd, dims));
    PetscCheck(nd[0] == 4, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "%s: layer '%s': kernel has %" PetscInt_FMT " dimensions, expected 4 [kh, kw, c_in, filters]", k->path, lname, nd[0]);
    PetscCheck(dims[0][0] == kh && dims[0][1] == kw && (filters == 0 || dims[0][3] == filters), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s: layer '%s': kernel shape %" PetscInt_FMT " x %" PetscInt_FMT " x %" PetscInt_FMT " x %" PetscInt_FMT " disagrees with kernel_size %" PetscInt_FMT " x %" PetscInt_FMT " and filters %" PetscInt_FMT,
               k->path, lname, dims[0][0], dims[0][1], dims[0][2], dims[0][3], kh, kw, filters);
    l->kh     = kh;
    l->kw     = kw;
    l->n_in   = dims[0][2] * l->groups;
    l->n_out  = dims[0][3];
    l->weight = w[0];
    l->bias   = req[1] ? w[1] : NULL;
    if (!req[1]) PetscCall(PetscFree(w[1]));
    if (l->bias) PetscCall(check_vector(k, lname, "bias", nd[1], dims[1], l->n_out));
  } else if (!strcmp(cls, "DepthwiseConv2D")) {
    const char *want[2] = {"depthwise_kernel", "bias"};
    PetscBool   req[2]  = {PETSC_TRUE, PETSC_FALSE};
    float      *w[2];
    PetscInt    nd[2], dims[2][MC_IO_MAX_DIMS], kh, kw, mult = (PetscInt)json_number(cfg, "depth_multiplier", 1);

    /* [kh, kw, C, mult] is the layout of a grouped Conv2D with C groups and output channel c*mult + m. */
    l->type = MC_LAYER_CONV2D;
    PetscCall(json_channels_last(k, lname, cfg));
    PetscCall(json_activation(k, lname, cfg, "activation", &l->act));
    PetscCall(json_pair(k, lname, cfg, "kernel_size", 1, &kh, &kw));
    PetscCall(json_pair(k, lname, cfg, "strides", 1, &l->stride_h, &l->stride_w));
    PetscCall(json_pair(k, lname, cfg, "dilation_rate", 1, &l->dil_h, &l->dil_w));
    PetscCall(json_padding(k, lname, cfg, &l->padding));
    req[1] = json_bool(cfg, "use_bias", PETSC_TRUE);
    PetscCall(read_layer_weights(k, group, 2, want, req, w, nd, dims));
    PetscCheck(nd[0] == 4 && dims[0][0] == kh && dims[0][1] == kw && dims[0][3] == mult, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s: layer '%s': depthwise_kernel is not [%" PetscInt_FMT ", %" PetscInt_FMT ", channels, %" PetscInt_FMT "] (kernel_size and depth_multiplier)", k->path, lname, kh, kw, mult);
    l->kh     = kh;
    l->kw     = kw;
    l->groups = dims[0][2];
    l->n_in   = dims[0][2];
    l->n_out  = dims[0][2] * mult;
    l->weight = w[0];
    l->bias   = req[1] ? w[1] : NULL;
    if (!req[1]) PetscCall(PetscFree(w[1]));
    if (l->bias) PetscCall(check_vector(k, lname, "bias", nd[1], dims[1], l->n_out));
  } else if (!strcmp(cls, "Add") || !strcmp(cls, "Multiply")) {
    l->type = !strcmp(cls, "Add") ? MC_LAYER_ADD : MC_LAYER_MULTIPLY;
  } else if (!strcmp(cls, "Concatenate")) {
    double ax = json_number(cfg, "axis", -1);

    l->type = MC_LAYER_CONCAT;
    PetscCheck(ax == -1 || ax == 3, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s': Concatenate along axis %g is not supported (only channels, the last axis)", k->path, lname, ax);
  } else if (!strcmp(cls, "ZeroPadding2D")) {
    const cJSON *v = obj_get(cfg, "padding");

    l->type = MC_LAYER_ZEROPAD2D;
    PetscCall(json_channels_last(k, lname, cfg));
    if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2 && cJSON_IsArray(cJSON_GetArrayItem(v, 0)) && cJSON_IsArray(cJSON_GetArrayItem(v, 1))) { /* ((top, bottom), (left, right)) */
      PetscCall(json_pair_nonneg(k, lname, cJSON_GetArrayItem(v, 0), "padding", &l->pad_t, &l->pad_b));
      PetscCall(json_pair_nonneg(k, lname, cJSON_GetArrayItem(v, 1), "padding", &l->pad_l, &l->pad_r));
    } else {
      PetscCall(json_pair_nonneg(k, lname, v, "padding", &l->pad_t, &l->pad_l));
      l->pad_b = l->pad_t;
      l->pad_r = l->pad_l;
    }
  } else if (!strcmp(cls, "GlobalAveragePooling2D") || !strcmp(cls, "GlobalAvgPool2D")) {
    l->type = MC_LAYER_GLOBALAVGPOOL;
    PetscCall(json_channels_last(k, lname, cfg));
  } else if (!strcmp(cls, "Reshape")) {
    const cJSON *t = obj_get(cfg, "target_shape");
    PetscInt     nt = cJSON_IsArray(t) ? cJSON_GetArraySize(t) : 0, d[3] = {1, 1, 1};

    l->type = MC_LAYER_RESHAPE;
    PetscCheck(nt >= 1 && nt <= 3, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s': Reshape target_shape must list 1 to 3 dimensions", k->path, lname);
    for (PetscInt i = 0; i < nt; ++i) {
      const cJSON *e = cJSON_GetArrayItem(t, (int)i);

      PetscCheck(cJSON_IsNumber(e) && e->valuedouble >= 1 && e->valuedouble < 1e9, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                 "%s: layer '%s': Reshape target_shape entry %" PetscInt_FMT " is not a positive size (-1 is not supported)", k->path, lname, i);
      d[3 - nt + i] = (PetscInt)e->valuedouble;
    }
    if (nt == 2) d[0] = d[1], d[1] = d[2], d[2] = 1; /* (H, W): an image without channels */
    for (int i = 0; i < 3; ++i) l->target[i] = d[i];
  } else if (!strcmp(cls, "UpSampling2D")) {
    const cJSON *ip = obj_get(cfg, "interpolation");

    l->type = MC_LAYER_UPSAMPLE2D;
    PetscCall(json_channels_last(k, lname, cfg));
    PetscCheck(json_is_null_or_missing(ip) || (cJSON_IsString(ip) && !strcmp(ip->valuestring, "nearest")), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
               "%s: layer '%s': UpSampling2D interpolation '%s' is not supported (nearest)", k->path, lname, cJSON_IsString(ip) ? ip->valuestring : "?");
    PetscCall(json_pair(k, lname, cfg, "size", 2, &l->kh, &l->kw));
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

    const cJSON *mx = obj_get(cfg, "max_value");

    l->type = MC_LAYER_ACTIVATION;
    PetscCheck(json_number(cfg, "threshold", 0) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s': ReLU with a threshold is not supported", k->path, lname);
    l->act   = slope != 0 ? MC_ACT_LEAKY_RELU : MC_ACT_RELU;
    l->alpha = (float)slope;
    if (!json_is_null_or_missing(mx)) { /* ReLU(max_value = m): 6 is ReLU6, else a clip to [0, m] */
      PetscCheck(cJSON_IsNumber(mx) && mx->valuedouble > 0 && slope == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
                 "%s: layer '%s': ReLU with max_value %s is not supported (a positive number, without negative_slope)", k->path, lname, cJSON_IsNumber(mx) ? "and negative_slope" : "not a number");
      l->act      = mx->valuedouble == 6 ? MC_ACT_RELU6 : MC_ACT_CLIP;
      l->alpha    = 0.0f;
      l->act_beta = l->act == MC_ACT_CLIP ? (float)mx->valuedouble : 0.0f;
    }
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
            "%s: layer '%s' of class %s is not supported (supported: Dense, Conv2D, DepthwiseConv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, ZeroPadding2D, UpSampling2D, "
            "Flatten, Reshape, Add, Multiply, Concatenate, Activation, ReLU, LeakyReLU, BatchNormalization, Dropout, Softmax, InputLayer)",
            k->path, lname, cls);
  }
  activation_params(k, l);
  PetscFunctionReturn(0);
}

/* Index of the model_config layer called `name`, or -1. */
static PetscInt find_layer(PetscInt n, const char *const names[], const char *name)
{
  for (PetscInt j = 0; j < n; ++j)
    if (!strcmp(names[j], name)) return j;
  return -1;
}

/* The layers of model_config: each one's class, config and name (pointers into the JSON), whether it is an
   InputLayer, and for a Functional model its producers (indices into the same list) in dep[off[j]..off[j+1]). */
typedef struct {
  PetscInt     n;
  const char **cls, **name;
  const cJSON **cfg;
  PetscBool   *input;
  PetscInt    *off, *dep;
} KerasGraph;

static PetscErrorCode graph_read(const KerasCtx *k, const cJSON *layers, PetscBool functional, KerasGraph *G)
{
  const cJSON *item;
  const char **in;
  PetscInt     j = 0, n_dep = 0;

  PetscFunctionBeginUser;
  G->n = cJSON_GetArraySize(layers);
  PetscCall(PetscCalloc5(G->n, &G->cls, G->n, &G->name, G->n, &G->cfg, G->n, &G->input, G->n + 1, &G->off));
  PetscCall(PetscMalloc1(G->n, &in));
  cJSON_ArrayForEach(item, layers)
  {
    const cJSON *lcls = obj_get(item, "class_name"), *lcfg = obj_get(item, "config"), *nm;

    PetscCheck(cJSON_IsString(lcls) && cJSON_IsObject(lcfg), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: model_config layer %" PetscInt_FMT " lacks class_name or config", k->path, j);
    nm = obj_get(lcfg, "name");
    PetscCheck(cJSON_IsString(nm), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: a %s layer in model_config has no name", k->path, lcls->valuestring);
    PetscCheck(find_layer(j, G->name, nm->valuestring) < 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: two layers in model_config are called '%s'", k->path, nm->valuestring);
    G->cls[j]   = lcls->valuestring;
    G->cfg[j]   = lcfg;
    G->name[j]  = nm->valuestring;
    G->input[j] = !strcmp(G->cls[j], "InputLayer") ? PETSC_TRUE : PETSC_FALSE;
    ++j;
  }
  /* Producers, first counted, then stored. */
  for (int pass = 0; pass < 2; ++pass) {
    j = 0;
    cJSON_ArrayForEach(item, layers)
    {
      PetscInt n_in = 0;

      if (functional && !G->input[j]) PetscCall(inbound_names(k, G->name[j], item, G->n, &n_in, in));
      if (pass == 0) G->off[j + 1] = G->off[j] + n_in;
      else
        for (PetscInt i = 0; i < n_in; ++i) {
          PetscInt p = find_layer(G->n, G->name, in[i]);

          PetscCheck(p >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s' reads '%s', which is not a layer of model_config", k->path, G->name[j], in[i]);
          G->dep[G->off[j] + i] = p;
        }
      ++j;
    }
    if (pass == 0) {
      n_dep = G->off[G->n];
      PetscCall(PetscMalloc1(n_dep > 0 ? n_dep : 1, &G->dep));
    }
  }
  PetscCall(PetscFree(in));
  PetscFunctionReturn(0);
}

static PetscErrorCode graph_free(KerasGraph *G)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree5(G->cls, G->name, G->cfg, G->input, G->off));
  PetscCall(PetscFree(G->dep));
  PetscFunctionReturn(0);
}

/* order[0..n): the layers in topological order, keeping the file's order where it allows (Kahn's algorithm,
   always taking the first ready layer). A cycle is refused naming a layer on it. */
static PetscErrorCode graph_order(const KerasCtx *k, const KerasGraph *G, PetscInt order[])
{
  PetscBool *placed;

  PetscFunctionBeginUser;
  PetscCall(PetscCalloc1(G->n, &placed));
  for (PetscInt done = 0; done < G->n; ++done) {
    PetscInt pick = -1;

    for (PetscInt j = 0; j < G->n && pick < 0; ++j) {
      PetscBool ready = placed[j] ? PETSC_FALSE : PETSC_TRUE;

      for (PetscInt d = G->off[j]; d < G->off[j + 1] && ready; ++d) ready = placed[G->dep[d]];
      if (ready) pick = j;
    }
    if (pick < 0) { /* every unplaced layer waits on an unplaced one: following them n times ends on a cycle */
      PetscInt j = 0;

      while (placed[j]) ++j;
      for (PetscInt step = 0; step < G->n; ++step)
        for (PetscInt d = G->off[j]; d < G->off[j + 1]; ++d)
          if (!placed[G->dep[d]]) {
            j = G->dep[d];
            break;
          }
      SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: the layers of model_config form a cycle (layer '%s' depends on itself through its inputs)", k->path, G->name[j]);
    }
    placed[pick] = PETSC_TRUE;
    order[done]  = pick;
  }
  PetscCall(PetscFree(placed));
  PetscFunctionReturn(0);
}

/* The model's outputs from config.output_layers ([[name, node, tensor], ...]); none listed = the last layer. */
static PetscErrorCode graph_outputs(const KerasCtx *k, const KerasGraph *G, const cJSON *cfg, const PetscInt jmap[], MCModel *m)
{
  const cJSON *outs = obj_get(cfg, "output_layers"), *e;
  PetscInt     n = 0, *idx;

  PetscFunctionBeginUser;
  if (!cJSON_IsArray(outs) || cJSON_GetArraySize(outs) == 0) PetscFunctionReturn(0);
  /* Keras 3 writes a single output as [name, node, tensor] rather than a list of them. */
  if (cJSON_IsString(cJSON_GetArrayItem(outs, 0))) {
    const char *name;
    PetscInt    j;

    PetscCall(history_name(k, "output_layers", outs, &name));
    j = name ? find_layer(G->n, G->name, name) : -1;
    PetscCheck(j >= 0 && jmap[j] >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: output_layers names '%s', which is not a layer of the model", k->path, name ? name : "?");
    PetscCall(mc_model_set_outputs(m, 1, &jmap[j]));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscMalloc1(cJSON_GetArraySize(outs), &idx));
  cJSON_ArrayForEach(e, outs)
  {
    const char *name;
    PetscInt    j;

    PetscCall(history_name(k, "output_layers", e, &name));
    j = name ? find_layer(G->n, G->name, name) : -1;
    PetscCheck(j >= 0 && jmap[j] >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: output_layers names '%s', which is not a layer of the model", k->path, name ? name : "?");
    idx[n++] = jmap[j];
  }
  PetscCall(mc_model_set_outputs(m, n, idx));
  PetscCall(PetscFree(idx));
  PetscFunctionReturn(0);
}

PetscErrorCode mc__io_model_read_keras(const char *path, double budget, MCModel **out)
{
  hid_t        file;
  char        *text = NULL;
  cJSON       *root;
  const cJSON *cls, *cfg, *layers;
  PetscBool    has = PETSC_FALSE, have_shape = PETSC_FALSE, functional;
  PetscInt     shape[3] = {1, 1, 1}, n = 0, n_inputs = 0, *order, *jmap;
  KerasCtx     k;
  KerasGraph   G;
  MCModel     *m;
  int         *bn_axis;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(&k, sizeof(k)));
  k.path   = path;
  k.budget = budget;
  PetscCall(mc__io_h5_open_read(path, PETSC_TRUE, &file));
  PetscCall(mc__io_h5_attr_exists(file, "model_config", &has));
  PetscCheck(has, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED,
             "%s has Keras weights but no model_config attribute (the architecture): save the model with model.save(), or give the layers as [layer.N] sections with a safetensors file", path);
  PetscCall(mc__io_h5_attr_exists(file, "keras_version", &has));
  if (has) {
    PetscCall(mc__io_h5_attr_string(path, file, "the root group", "keras_version", &text));
    k.keras3 = text[0] >= '3' && text[0] <= '9' ? PETSC_TRUE : PETSC_FALSE;
    PetscCall(PetscFree(text));
  }
  PetscCall(mc__io_h5_attr_string(path, file, "the root group", "model_config", &text));
  root = cJSON_Parse(text);
  PetscCheck(root, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: root attribute model_config is not valid JSON (near '%.40s')", path, cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() : "");
  PetscCall(PetscFree(text));
  cls = obj_get(root, "class_name");
  cfg = obj_get(root, "config");
  PetscCheck(cJSON_IsString(cls), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: model_config has no class_name", path);
  functional = (!strcmp(cls->valuestring, "Functional") || !strcmp(cls->valuestring, "Model")) ? PETSC_TRUE : PETSC_FALSE;
  PetscCheck(functional || !strcmp(cls->valuestring, "Sequential"), PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: model_config class %s is not supported (Sequential or Functional)", path,
             cls->valuestring);
  layers = cJSON_IsArray(cfg) ? cfg : obj_get(cfg, "layers"); /* Keras 2.2 stored a Sequential's list directly */
  PetscCheck(cJSON_IsArray(layers) && cJSON_GetArraySize(layers) > 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: model_config lists no layers", path);

  /* Weights: /model_weights for model.save(), the root group for save_weights(). */
  PetscCall(mc__io_h5_exists(file, "model_weights", &has));
  if (has) MCCallHDF5(k.weights = H5Gopen2(file, "model_weights", H5P_DEFAULT), path, "a group");
  else MCCallHDF5(k.weights = H5Gopen2(file, "/", H5P_DEFAULT), path, "a group");
  PetscCall(mc__io_h5_attr_strings(path, k.weights, has ? "/model_weights" : "the root group", "layer_names", &k.n_names, &k.names));

  PetscCall(graph_read(&k, layers, functional, &G));
  PetscCall(PetscMalloc2(G.n, &order, G.n, &jmap));
  PetscCall(graph_order(&k, &G, order));
  PetscCall(mc_model_create(G.n, shape, &m));
  PetscCall(PetscCalloc1(G.n, &bn_axis));
  for (PetscInt o = 0; o < G.n; ++o) {
    PetscInt     j = order[o];
    const cJSON *lcfg = G.cfg[j];
    const char  *c = G.cls[j], *group = G.name[j];

    jmap[j] = -1;
    if (!have_shape) PetscCall(json_input_shape(&k, lcfg, shape, &have_shape));
    if (G.input[j]) {
      PetscCheck(++n_inputs == 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: InputLayer '%s': models with several inputs are not supported", path, group);
      PetscCheck(functional || n == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: InputLayer '%s' in the middle of a Sequential model is not supported", path, group);
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
    if (functional) { /* producers are placed already: InputLayer -> -1, others their model index */
      PetscInt ni = G.off[j + 1] - G.off[j], *in;

      PetscCheck(ni >= 1, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: layer '%s' has no inbound_nodes", path, group);
      PetscCall(PetscMalloc1(ni, &in));
      for (PetscInt i = 0; i < ni; ++i) in[i] = jmap[G.dep[G.off[j] + i]];
      PetscCall(mc_model_set_inputs(&m->layers[n], ni, in));
      PetscCall(PetscFree(in));
    }
    jmap[j] = n++;
  }
  m->n_layers = n;
  if (functional) PetscCall(graph_outputs(&k, &G, cfg, jmap, m));
  PetscCall(PetscFree2(order, jmap));
  PetscCall(graph_free(&G));
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
