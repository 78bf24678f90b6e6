/* src/model/model.c: the normalised in-memory network: creation, shape propagation and checks,
   broadcast, names and printing. */
#include <math.h>
#include <string.h>
#include "mc/model.h"
#include "mc/sys.h"

static const char *const layer_type_names[MC_N_LAYER_TYPES] = {"dense",   "conv2d",   "maxpool2d", "avgpool2d",     "flatten", "activation", "batchnorm", "dropout",
                                                               "softmax", "add",      "concat",    "multiply",      "zeropad2d", "globalavgpool", "reshape", "upsample2d"};
static const char *const act_names[MC_N_ACTS] = {"linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "softplus", "gelu", "leaky_relu",
                                                 "relu6", "hard_sigmoid", "hard_swish", "swish", "clip"};

const char *mc_model_layer_type_name(MCLayerType t)
{
  return (t >= 0 && t < MC_N_LAYER_TYPES) ? layer_type_names[t] : "unknown";
}

const char *mc_model_padding_name(MCPadding p)
{
  return p == MC_PAD_SAME ? "same" : p == MC_PAD_EXPLICIT ? "explicit" : "valid";
}

const char *mc_model_activation_name(MCActivation a)
{
  return (a >= 0 && a < MC_N_ACTS) ? act_names[a] : "unknown";
}

PetscBool mc_model_activation_parse(const char *name, MCActivation *a)
{
  for (int i = 0; i < MC_N_ACTS; ++i)
    if (name && strcmp(name, act_names[i]) == 0) {
      *a = (MCActivation)i;
      return PETSC_TRUE;
    }
  return PETSC_FALSE;
}

PetscBool mc_model_layer_type_parse(const char *name, MCLayerType *t)
{
  for (int i = 0; i < MC_N_LAYER_TYPES; ++i)
    if (name && strcmp(name, layer_type_names[i]) == 0) {
      *t = (MCLayerType)i;
      return PETSC_TRUE;
    }
  return PETSC_FALSE;
}

PetscInt mc_model_weight_count(const MCLayer *l)
{
  if (l->type == MC_LAYER_DENSE) return l->n_in * l->n_out;
  if (l->type == MC_LAYER_CONV2D) return l->kh * l->kw * (l->n_in / (l->groups > 1 ? l->groups : 1)) * l->n_out;
  return 0;
}

uint64_t mc_model_hash(const MCModel *m, uint64_t h)
{
  h = mc_sys_hash(h, m->input_shape, sizeof(m->input_shape));
  h = mc_sys_hash(h, &m->n_layers, sizeof(m->n_layers));
  h = mc_sys_hash(h, &m->n_outputs, sizeof(m->n_outputs));
  if (m->n_outputs) h = mc_sys_hash(h, m->outputs, sizeof(PetscInt) * (size_t)m->n_outputs);
  for (PetscInt i = 0; i < m->n_layers; ++i) {
    const MCLayer *L  = &m->layers[i];
    PetscInt       nw = mc_model_weight_count(L);
    PetscInt       geo[20] = {(PetscInt)L->type, (PetscInt)L->act, L->n_in, L->n_out, L->kh, L->kw, L->stride_h, L->stride_w, (PetscInt)L->padding, L->n_inputs,
                              L->pad_t, L->pad_b, L->pad_l, L->pad_r, L->dil_h, L->dil_w, L->groups, L->target[0], L->target[1], L->target[2]};
    const float   *per_channel[5] = {L->bias, L->gamma, L->beta, L->moving_mean, L->moving_var};

    h = mc_sys_hash(h, geo, sizeof(geo));
    if (L->n_inputs) h = mc_sys_hash(h, L->inputs, sizeof(PetscInt) * (size_t)L->n_inputs);
    h = mc_sys_hash(h, &L->alpha, sizeof(L->alpha));
    h = mc_sys_hash(h, &L->act_beta, sizeof(L->act_beta));
    h = mc_sys_hash(h, &L->eps, sizeof(L->eps));
    if (L->weight) h = mc_sys_hash(h, L->weight, sizeof(float) * (size_t)nw);
    for (int k = 0; k < 5; ++k) {
      int present = per_channel[k] != NULL;

      h = mc_sys_hash(h, &present, sizeof(present));
      if (present) h = mc_sys_hash(h, per_channel[k], sizeof(float) * (size_t)L->n_out);
    }
  }
  return h;
}

PetscErrorCode mc_model_create(PetscInt n_layers, const PetscInt input_shape[3], MCModel **out)
{
  MCModel *m;

  PetscFunctionBeginUser;
  PetscCheck(n_layers >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "negative layer count %" PetscInt_FMT, n_layers);
  PetscCall(PetscNew(&m));
  m->n_layers = n_layers;
  PetscCall(PetscCalloc1(n_layers > 0 ? n_layers : 1, &m->layers));
  for (int i = 0; i < 3; ++i) m->input_shape[i] = input_shape ? input_shape[i] : 1;
  /* Zeroed layers: linear activation, valid padding, strides 0 = the default (conv 1, pooling the window). */
  *out = m;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_model_destroy(MCModel **m)
{
  PetscFunctionBeginUser;
  if (!*m) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < (*m)->n_layers; ++i) {
    MCLayer *l = &(*m)->layers[i];

    PetscCall(PetscFree(l->weight));
    PetscCall(PetscFree(l->bias));
    PetscCall(PetscFree(l->gamma));
    PetscCall(PetscFree(l->beta));
    PetscCall(PetscFree(l->moving_mean));
    PetscCall(PetscFree(l->moving_var));
    PetscCall(PetscFree(l->inputs));
  }
  PetscCall(PetscFree((*m)->outputs));
  PetscCall(PetscFree((*m)->layers));
  PetscCall(PetscFree(*m));
  PetscFunctionReturn(0);
}

void mc_model_window(const MCLayer *L, int axis, PetscInt n, PetscInt *out, PetscInt *pad)
{
  PetscInt k = axis == 0 ? L->kh : L->kw, st = axis == 0 ? L->stride_h : L->stride_w;
  PetscInt d = L->type == MC_LAYER_CONV2D ? (axis == 0 ? L->dil_h : L->dil_w) : 1;
  PetscInt before = axis == 0 ? L->pad_t : L->pad_l, after = axis == 0 ? L->pad_b : L->pad_r;

  if (d < 1) d = 1;
  if (st < 1) st = 1;
  k = (k - 1) * d + 1;
  switch (L->padding) {
  case MC_PAD_SAME: {
    PetscInt total;

    *out  = (n + st - 1) / st;
    total = (*out - 1) * st + k - n;
    *pad  = total > 0 ? total / 2 : 0;
  } break;
  case MC_PAD_EXPLICIT:
    *out = n + before + after >= k ? (n + before + after - k) / st + 1 : 0;
    *pad = before;
    break;
  default:
    *out = n >= k ? (n - k) / st + 1 : 0;
    *pad = 0;
  }
}

PetscErrorCode mc_model_set_inputs(MCLayer *L, PetscInt n, const PetscInt in[])
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(L->inputs));
  L->n_inputs = n;
  if (n > 0) {
    PetscCall(PetscMalloc1(n, &L->inputs));
    PetscCall(PetscArraycpy(L->inputs, in, n));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode mc_model_set_outputs(MCModel *m, PetscInt n, const PetscInt out[])
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(m->outputs));
  m->n_outputs = n;
  if (n > 0) {
    PetscCall(PetscMalloc1(n, &m->outputs));
    PetscCall(PetscArraycpy(m->outputs, out, n));
  }
  PetscFunctionReturn(0);
}

PetscBool mc_model_is_chain(const MCModel *m)
{
  /* A model built in memory without finalize (no inputs or outputs set) is the chain finalize would make. */
  if (m->n_outputs > 1 || (m->n_outputs == 1 && m->outputs[0] != m->n_layers - 1)) return PETSC_FALSE;
  for (PetscInt i = 0; i < m->n_layers; ++i) {
    const MCLayer *L = &m->layers[i];

    if (L->n_inputs > 1 || (L->n_inputs == 1 && L->inputs[0] != i - 1)) return PETSC_FALSE;
    if (L->type == MC_LAYER_ADD || L->type == MC_LAYER_CONCAT || L->type == MC_LAYER_MULTIPLY) return PETSC_FALSE;
    if (L->type == MC_LAYER_CONV2D && (L->groups > 1 || L->dil_h > 1 || L->dil_w > 1)) return PETSC_FALSE;
  }
  return PETSC_TRUE;
}

static PetscErrorCode check_finite(MPI_Comm comm, const char *src, PetscInt li, const MCLayer *l, const char *tensor, const float *v, PetscInt n)
{
  PetscFunctionBeginUser;
  if (!v) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < n; ++i)
    PetscCheck(isfinite(v[i]), comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " '%s' (%s): tensor %s has a %s value at flat index %" PetscInt_FMT, src, li, l->name,
               layer_type_names[l->type], tensor, isnan(v[i]) ? "NaN" : (v[i] > 0 ? "+Inf" : "-Inf"), i);
  PetscFunctionReturn(0);
}

/* The graph part of finalize: default inputs and outputs, order, arity, every layer used. */
static PetscErrorCode finalize_graph(MPI_Comm comm, const char *src, MCModel *m)
{
  PetscBool *used;

  PetscFunctionBeginUser;
  if (m->n_outputs == 0) {
    PetscInt last = m->n_layers - 1;

    PetscCall(mc_model_set_outputs(m, 1, &last));
  }
  PetscCall(PetscCalloc1(m->n_layers, &used));
  for (PetscInt i = 0; i < m->n_layers; ++i) {
    MCLayer *l = &m->layers[i];
    PetscInt lo = 1, hi = 1;

    if (l->n_inputs == 0) {
      PetscInt prev = i - 1;

      PetscCall(mc_model_set_inputs(l, 1, &prev));
    }
    if (l->type == MC_LAYER_ADD || l->type == MC_LAYER_MULTIPLY) lo = 2, hi = PETSC_MAX_INT;
    if (l->type == MC_LAYER_CONCAT) hi = PETSC_MAX_INT;
    PetscCheck(l->n_inputs >= lo && l->n_inputs <= hi, comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " '%s' (%s) has %" PetscInt_FMT " inputs, expected %s", src, i, l->name,
               mc_model_layer_type_name(l->type), l->n_inputs, lo == 2 ? "2 or more" : hi == 1 ? "1" : "1 or more");
    for (PetscInt j = 0; j < l->n_inputs; ++j) {
      PetscInt p = l->inputs[j];

      PetscCheck(p >= -1 && p < i, comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " '%s' reads layer %" PetscInt_FMT ", which does not come before it (layers must be in topological order)", src, i,
                 l->name, p);
      if (p >= 0) used[p] = PETSC_TRUE;
    }
  }
  for (PetscInt o = 0; o < m->n_outputs; ++o) {
    PetscCheck(m->outputs[o] >= 0 && m->outputs[o] < m->n_layers, comm, PETSC_ERR_USER_INPUT, "%s: output %" PetscInt_FMT " names layer %" PetscInt_FMT ", outside 0..%" PetscInt_FMT, src, o,
               m->outputs[o], m->n_layers - 1);
    used[m->outputs[o]] = PETSC_TRUE;
  }
  for (PetscInt i = 0; i < m->n_layers; ++i)
    PetscCheck(used[i], comm, PETSC_ERR_USER_INPUT, "%s: the output of layer %" PetscInt_FMT " '%s' is read by no layer and is not an output of the network", src, i, m->layers[i].name);
  PetscCall(PetscFree(used));
  PetscFunctionReturn(0);
}

/* The shape of input j of layer l. */
static const PetscInt *input_shape(const MCModel *m, const MCLayer *l, PetscInt j)
{
  return l->inputs[j] < 0 ? m->input_shape : m->layers[l->inputs[j]].out_shape;
}

/* in_shape of a merge layer (Add, Multiply, Concat) from its inputs' shapes, checked. */
static PetscErrorCode merge_shapes(MPI_Comm comm, const char *src, const MCModel *m, PetscInt i, MCLayer *l)
{
  const PetscInt *s0 = input_shape(m, l, 0);

  PetscFunctionBeginUser;
  for (int d = 0; d < 3; ++d) l->in_shape[d] = s0[d];
  if (l->type == MC_LAYER_CONCAT) l->in_shape[2] = 0;
  for (PetscInt j = 0; j < l->n_inputs; ++j) {
    const PetscInt *s = input_shape(m, l, j);
    PetscBool       ok;

    if (l->type == MC_LAYER_CONCAT) {
      ok = (s[0] == s0[0] && s[1] == s0[1]) ? PETSC_TRUE : PETSC_FALSE;
      l->in_shape[2] += s[2];
    } else if (l->type == MC_LAYER_MULTIPLY) { /* equal, or a 1 x 1 x C gate */
      PetscBool gate = (s[0] == 1 && s[1] == 1) ? PETSC_TRUE : PETSC_FALSE;

      ok = (s[2] == l->in_shape[2] && (gate || (l->in_shape[0] == 1 && l->in_shape[1] == 1) || (s[0] == l->in_shape[0] && s[1] == l->in_shape[1]))) ? PETSC_TRUE : PETSC_FALSE;
      if (!gate) l->in_shape[0] = s[0], l->in_shape[1] = s[1];
    } else ok = (s[0] == s0[0] && s[1] == s0[1] && s[2] == s0[2]) ? PETSC_TRUE : PETSC_FALSE;
    PetscCheck(ok, comm, PETSC_ERR_USER_INPUT,
               "%s: layer %" PetscInt_FMT " '%s' (%s): input %" PetscInt_FMT " is %" PetscInt_FMT " x %" PetscInt_FMT " x %" PetscInt_FMT " but input 0 is %" PetscInt_FMT " x %" PetscInt_FMT
               " x %" PetscInt_FMT "%s",
               src, i, l->name, mc_model_layer_type_name(l->type), j, s[0], s[1], s[2], s0[0], s0[1], s0[2],
               l->type == MC_LAYER_CONCAT ? " (concatenated tensors must agree in height and width)" : l->type == MC_LAYER_MULTIPLY ? " (factors must agree, or be 1 x 1 x C gates)" : "");
  }
  PetscFunctionReturn(0);
}

PetscErrorCode mc_model_finalize_shapes(MPI_Comm comm, MCModel *m)
{
  const char *src = m->source[0] ? m->source : "model";

  PetscFunctionBeginUser;
  PetscCheck(m->input_shape[0] >= 1 && m->input_shape[1] >= 1 && m->input_shape[2] >= 1, comm, PETSC_ERR_USER_INPUT, "%s: input shape %" PetscInt_FMT " x %" PetscInt_FMT " x %" PetscInt_FMT " is not positive", src,
             m->input_shape[0], m->input_shape[1], m->input_shape[2]);
  PetscCheck(m->n_layers >= 1, comm, PETSC_ERR_USER_INPUT, "%s: the model has no layers", src);
  PetscCall(finalize_graph(comm, src, m));
  for (PetscInt i = 0; i < m->n_layers; ++i) PetscCall(mc_model_finalize_layer(comm, m, i));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_model_finalize_layer(MPI_Comm comm, MCModel *m, PetscInt i)
{
  const char *src = m->source[0] ? m->source : "model";

  PetscFunctionBeginUser;
  PetscCheck(i >= 0 && i < m->n_layers && m->layers[i].n_inputs >= 1, comm, PETSC_ERR_PLIB, "%s: layer %" PetscInt_FMT " has no inputs set", src, i);
  for (PetscInt j = 0; j < m->layers[i].n_inputs; ++j)
    PetscCheck(m->layers[i].inputs[j] >= -1 && m->layers[i].inputs[j] < i, comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " '%s' reads layer %" PetscInt_FMT ", which does not come before it", src, i,
               m->layers[i].name, m->layers[i].inputs[j]);
  {
    MCLayer    *l    = &m->layers[i];
    const char *type = mc_model_layer_type_name(l->type);
    PetscInt    h, w, c;

    PetscCheck(l->type >= 0 && l->type < MC_N_LAYER_TYPES, comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " '%s' has an invalid type %d", src, i, l->name, (int)l->type);
    PetscCheck(l->act >= 0 && l->act < MC_N_ACTS, comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " '%s' has an invalid activation %d", src, i, l->name, (int)l->act);
    if (l->type == MC_LAYER_ADD || l->type == MC_LAYER_MULTIPLY || l->type == MC_LAYER_CONCAT) PetscCall(merge_shapes(comm, src, m, i, l));
    else
      for (int d = 0; d < 3; ++d) l->in_shape[d] = input_shape(m, l, 0)[d];
    h = l->in_shape[0];
    w = l->in_shape[1];
    c = l->in_shape[2];
    switch (l->type) {
    case MC_LAYER_DENSE:
      PetscCheck(h * w == 1, comm, PETSC_ERR_USER_INPUT,
                 "%s: layer %" PetscInt_FMT " '%s' (dense) gets a %" PetscInt_FMT " x %" PetscInt_FMT " x %" PetscInt_FMT " input; add a Flatten layer before it", src, i, l->name, h,
                 w, c);
      if (l->n_in == 0) l->n_in = c;
      PetscCheck(l->n_in == c, comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " '%s' (dense): weight has %" PetscInt_FMT " inputs but the incoming size is %" PetscInt_FMT, src, i,
                 l->name, l->n_in, c);
      PetscCheck(l->n_out >= 1 && l->weight, comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " '%s' (dense) has no weight", src, i, l->name);
      c = l->n_out;
      break;
    case MC_LAYER_CONV2D:
      if (l->n_in == 0) l->n_in = c;
      if (l->groups < 1) l->groups = 1;
      if (l->dil_h < 1) l->dil_h = 1;
      if (l->dil_w < 1) l->dil_w = 1;
      PetscCheck(l->n_in == c, comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " '%s' (conv2d): kernel has %" PetscInt_FMT " input channels but the incoming tensor has %" PetscInt_FMT,
                 src, i, l->name, l->n_in, c);
      PetscCheck(l->n_out >= 1 && l->weight && l->kh >= 1 && l->kw >= 1, comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " '%s' (conv2d) has no kernel", src, i, l->name);
      PetscCheck(c % l->groups == 0 && l->n_out % l->groups == 0, comm, PETSC_ERR_USER_INPUT,
                 "%s: layer %" PetscInt_FMT " '%s' (conv2d): %" PetscInt_FMT " groups do not divide its %" PetscInt_FMT " input and %" PetscInt_FMT " output channels", src, i, l->name, l->groups, c,
                 l->n_out);
      /* fall through */
    case MC_LAYER_MAXPOOL2D:
    case MC_LAYER_AVGPOOL2D: {
      PetscInt oh, ow, p;

      PetscCheck(l->kh >= 1 && l->kw >= 1, comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " '%s' (%s) has window %" PetscInt_FMT " x %" PetscInt_FMT, src, i, l->name, type, l->kh,
                 l->kw);
      if (l->stride_h <= 0) l->stride_h = l->type == MC_LAYER_CONV2D ? 1 : l->kh;
      if (l->stride_w <= 0) l->stride_w = l->type == MC_LAYER_CONV2D ? 1 : l->kw;
      PetscCheck(l->pad_t >= 0 && l->pad_b >= 0 && l->pad_l >= 0 && l->pad_r >= 0, comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " '%s' (%s) has negative padding", src, i, l->name, type);
      mc_model_window(l, 0, h, &oh, &p);
      mc_model_window(l, 1, w, &ow, &p);
      PetscCheck(oh >= 1 && ow >= 1, comm, PETSC_ERR_USER_INPUT,
                 "%s: layer %" PetscInt_FMT " '%s' (%s): window %" PetscInt_FMT " x %" PetscInt_FMT " is larger than its %" PetscInt_FMT " x %" PetscInt_FMT " input", src, i, l->name, type,
                 l->kh, l->kw, h, w);
      h = oh;
      w = ow;
      if (l->type == MC_LAYER_CONV2D) c = l->n_out;
      else l->n_in = l->n_out = c;
    } break;
    case MC_LAYER_FLATTEN:
      c = h * w * c;
      h = w = 1;
      break;
    case MC_LAYER_RESHAPE:
      PetscCheck(l->target[0] >= 1 && l->target[1] >= 1 && l->target[2] >= 1 && l->target[0] * l->target[1] * l->target[2] == h * w * c, comm, PETSC_ERR_USER_INPUT,
                 "%s: layer %" PetscInt_FMT " '%s' (reshape): target %" PetscInt_FMT " x %" PetscInt_FMT " x %" PetscInt_FMT " does not hold the %" PetscInt_FMT " values of its input", src, i,
                 l->name, l->target[0], l->target[1], l->target[2], h * w * c);
      h = l->target[0], w = l->target[1], c = l->target[2];
      break;
    case MC_LAYER_ZEROPAD2D:
      PetscCheck(l->pad_t >= 0 && l->pad_b >= 0 && l->pad_l >= 0 && l->pad_r >= 0, comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " '%s' (zeropad2d) has negative padding", src, i, l->name);
      h += l->pad_t + l->pad_b;
      w += l->pad_l + l->pad_r;
      l->n_in = l->n_out = c;
      break;
    case MC_LAYER_GLOBALAVGPOOL:
      h = w = 1;
      l->n_in = l->n_out = c;
      break;
    case MC_LAYER_UPSAMPLE2D:
      PetscCheck(l->kh >= 1 && l->kw >= 1, comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " '%s' (upsample2d) has factors %" PetscInt_FMT " x %" PetscInt_FMT, src, i, l->name, l->kh, l->kw);
      h *= l->kh;
      w *= l->kw;
      l->n_in = l->n_out = c;
      break;
    case MC_LAYER_BATCHNORM:
      if (l->n_out == 0) l->n_out = c;
      PetscCheck(l->n_out == c, comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " '%s' (batchnorm) has %" PetscInt_FMT " channels but the incoming tensor has %" PetscInt_FMT, src, i,
                 l->name, l->n_out, c);
      PetscCheck(l->moving_mean && l->moving_var, comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " '%s' (batchnorm) lacks moving mean or variance", src, i, l->name);
      PetscCheck(l->eps > 0, comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " '%s' (batchnorm) has epsilon %g, expected > 0", src, i, l->name, (double)l->eps);
      for (PetscInt j = 0; j < c; ++j)
        PetscCheck(!(l->moving_var[j] < 0), comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " '%s' (batchnorm): moving variance %g of channel %" PetscInt_FMT " is negative", src, i,
                   l->name, (double)l->moving_var[j], j);
      l->n_in = c;
      break;
    default: /* element-wise: activation, dropout, softmax, add, multiply, concat */
      l->n_in = l->n_out = c;
      break;
    }
    PetscCheck(h >= 1 && w >= 1, comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " '%s' (%s) has an empty output", src, i, l->name, type);
    l->out_shape[0] = h;
    l->out_shape[1] = w;
    l->out_shape[2] = c;
    PetscCall(check_finite(comm, src, i, l, "weight", l->weight, mc_model_weight_count(l)));
    if (l->type == MC_LAYER_DENSE || l->type == MC_LAYER_CONV2D || l->type == MC_LAYER_BATCHNORM) {
      PetscCall(check_finite(comm, src, i, l, "bias", l->bias, l->n_out));
      PetscCall(check_finite(comm, src, i, l, "gamma", l->gamma, l->n_out));
      PetscCall(check_finite(comm, src, i, l, "beta", l->beta, l->n_out));
      PetscCall(check_finite(comm, src, i, l, "moving_mean", l->moving_mean, l->n_out));
      PetscCall(check_finite(comm, src, i, l, "moving_var", l->moving_var, l->n_out));
    }
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode bcast_floats(MPI_Comm comm, PetscBool root, float **v, PetscInt n)
{
  PetscFunctionBeginUser;
  /* A non-NULL pointer on rank 0 (compared after the struct copy) means the tensor exists. */
  if (!*v) PetscFunctionReturn(0);
  if (!root) PetscCall(PetscMalloc1(n > 0 ? n : 1, v));
  for (PetscInt off = 0; off < n;) {
    PetscInt    chunk = PetscMin(n - off, (PetscInt)1 << 28);
    PetscMPIInt cnt;

    PetscCall(PetscMPIIntCast(chunk, &cnt));
    PetscCallMPI(MPI_Bcast(*v + off, cnt, MPI_FLOAT, 0, comm));
    off += chunk;
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode bcast_ints(MPI_Comm comm, PetscInt *v, PetscInt n)
{
  PetscMPIInt cnt;

  PetscFunctionBeginUser;
  if (n <= 0) PetscFunctionReturn(0);
  PetscCall(PetscMPIIntCast(n, &cnt));
  PetscCallMPI(MPI_Bcast(v, cnt, MPIU_INT, 0, comm));
  PetscFunctionReturn(0);
}

PetscErrorCode mc_model_bcast(MPI_Comm comm, MCModel **m)
{
  PetscMPIInt rank, nbytes;
  MCModel     head;
  PetscBool   root;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(&head, sizeof(head)));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  root = rank == 0 ? PETSC_TRUE : PETSC_FALSE;
  if (root) {
    PetscCheck(*m, PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "mc_model_bcast: no model on rank 0");
    head = **m;
  }
  /* Every rank runs the same binary, so the structs travel as bytes; the pointers inside are only
     compared with NULL. */
  PetscCallMPI(MPI_Bcast(&head, (PetscMPIInt)sizeof(head), MPI_BYTE, 0, comm));
  if (!root) {
    PetscCall(mc_model_create(head.n_layers, head.input_shape, m));
    PetscCall(PetscStrncpy((*m)->source, head.source, sizeof(head.source)));
    PetscCall(PetscStrncpy((*m)->format, head.format, sizeof(head.format)));
  }
  PetscCall(PetscMPIIntCast(head.n_layers * (PetscInt)sizeof(MCLayer), &nbytes));
  PetscCallMPI(MPI_Bcast((*m)->layers, nbytes, MPI_BYTE, 0, comm));
  if (!root) PetscCall(PetscMalloc1(head.n_outputs > 0 ? head.n_outputs : 1, &(*m)->outputs));
  (*m)->n_outputs = head.n_outputs;
  PetscCall(bcast_ints(comm, (*m)->outputs, head.n_outputs));
  for (PetscInt i = 0; i < head.n_layers; ++i) {
    MCLayer *l = &(*m)->layers[i];

    if (!root) {
      l->inputs = NULL;
      if (l->n_inputs) PetscCall(PetscMalloc1(l->n_inputs, &l->inputs));
    }
    PetscCall(bcast_ints(comm, l->inputs, l->n_inputs));

    PetscCall(bcast_floats(comm, root, &l->weight, mc_model_weight_count(l)));
    PetscCall(bcast_floats(comm, root, &l->bias, l->n_out));
    PetscCall(bcast_floats(comm, root, &l->gamma, l->n_out));
    PetscCall(bcast_floats(comm, root, &l->beta, l->n_out));
    PetscCall(bcast_floats(comm, root, &l->moving_mean, l->n_out));
    PetscCall(bcast_floats(comm, root, &l->moving_var, l->n_out));
  }
  PetscFunctionReturn(0);
}

PetscBool mc_model_is_depthwise(const MCLayer *L)
{
  return (L->type == MC_LAYER_CONV2D && L->groups > 1 && L->groups == L->n_in) ? PETSC_TRUE : PETSC_FALSE;
}

PetscInt mc_model_weight_layers(const MCModel *m, PetscInt idx[])
{
  PetscInt n = 0;

  for (PetscInt i = 0; i < m->n_layers; ++i)
    if (m->layers[i].type == MC_LAYER_DENSE || m->layers[i].type == MC_LAYER_CONV2D) {
      if (idx) idx[n] = i;
      ++n;
    }
  return n;
}

PetscErrorCode mc_model_print(MPI_Comm comm, const MCModel *m)
{
  PetscInt n_params = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(comm, "model %s (%s): input %" PetscInt_FMT " x %" PetscInt_FMT " x %" PetscInt_FMT ", %" PetscInt_FMT " layers\n", m->source, m->format, m->input_shape[0],
                        m->input_shape[1], m->input_shape[2], m->n_layers));
  for (PetscInt i = 0; i < m->n_layers; ++i) {
    const MCLayer *l = &m->layers[i];
    PetscInt       np = mc_model_weight_count(l);
    char           extra[160] = "";

    if (l->bias) np += l->n_out;
    if (l->type == MC_LAYER_BATCHNORM) np += l->n_out * ((l->gamma ? 1 : 0) + (l->beta ? 1 : 0) + 2);
    n_params += np;
    switch (l->type) {
    case MC_LAYER_DENSE:
      PetscCall(PetscSNPrintf(extra, sizeof(extra), "%s", mc_model_activation_name(l->act)));
      break;
    case MC_LAYER_CONV2D:
    case MC_LAYER_MAXPOOL2D:
    case MC_LAYER_AVGPOOL2D:
      PetscCall(PetscSNPrintf(extra, sizeof(extra), "window %" PetscInt_FMT "x%" PetscInt_FMT " stride %" PetscInt_FMT "x%" PetscInt_FMT " %s %s", l->kh, l->kw, l->stride_h, l->stride_w,
                              mc_model_padding_name(l->padding), l->type == MC_LAYER_CONV2D ? mc_model_activation_name(l->act) : ""));
      break;
    case MC_LAYER_ACTIVATION:
      PetscCall(PetscSNPrintf(extra, sizeof(extra), "%s", mc_model_activation_name(l->act)));
      break;
    case MC_LAYER_BATCHNORM:
      PetscCall(PetscSNPrintf(extra, sizeof(extra), "eps %g", (double)l->eps));
      break;
    case MC_LAYER_DROPOUT:
      PetscCall(PetscSNPrintf(extra, sizeof(extra), "rate %g", (double)l->rate));
      break;
    default:
      break;
    }
    if (l->type == MC_LAYER_CONV2D && (l->groups > 1 || l->dil_h > 1 || l->dil_w > 1)) {
      size_t len = strlen(extra);

      PetscCall(PetscSNPrintf(extra + len, sizeof(extra) - len, " groups %" PetscInt_FMT " dilation %" PetscInt_FMT "x%" PetscInt_FMT, l->groups, l->dil_h, l->dil_w));
    }
    if (l->n_inputs != 1 || l->inputs[0] != i - 1) { /* a branch: name the producers */
      for (PetscInt j = 0; j < l->n_inputs; ++j) {
        size_t len = strlen(extra);

        if (len + 24 >= sizeof(extra)) break;
        PetscCall(PetscSNPrintf(extra + len, sizeof(extra) - len, "%s%" PetscInt_FMT, j ? "," : " <- ", l->inputs[j]));
      }
    }
    PetscCall(PetscPrintf(comm, "  %3" PetscInt_FMT " %-10s %-24s %4" PetscInt_FMT "x%" PetscInt_FMT "x%-5" PetscInt_FMT " -> %4" PetscInt_FMT "x%" PetscInt_FMT "x%-5" PetscInt_FMT " %9" PetscInt_FMT " params  %s\n",
                          i, mc_model_layer_type_name(l->type), l->name, l->in_shape[0], l->in_shape[1], l->in_shape[2], l->out_shape[0], l->out_shape[1], l->out_shape[2], np, extra));
  }
  PetscCall(PetscPrintf(comm, "  total %" PetscInt_FMT " parameters\n", n_params));
  PetscFunctionReturn(0);
}

const char *mc_model_unit_layer_name(const MCModel *m, PetscInt u)
{
  PetscInt seen = 0;

  if (u <= 0) return "input";
  for (PetscInt l = 0; l < m->n_layers; ++l)
    if ((m->layers[l].type == MC_LAYER_DENSE || m->layers[l].type == MC_LAYER_CONV2D) && ++seen == u) return m->layers[l].name;
  return "?";
}

PetscBool mc_model_input_fits(const MCModel *m, const PetscInt shape[3])
{
  const PetscInt *in = m->input_shape;

  if (in[0] == 1 && in[1] == 1) return shape[0] * shape[1] * shape[2] == in[2] ? PETSC_TRUE : PETSC_FALSE;
  return (shape[0] == in[0] && shape[1] == in[1] && shape[2] == in[2]) ? PETSC_TRUE : PETSC_FALSE;
}
