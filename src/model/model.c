/* src/model/model.c: the normalised in-memory network: creation, shape propagation and checks,
   broadcast, names and printing. */
#include <math.h>
#include <string.h>
#include "mc/model.h"
#include "mc/sys.h"

static const char *const layer_type_names[MC_N_LAYER_TYPES] = {"dense",      "conv2d",    "maxpool2d", "avgpool2d", "flatten",
                                                               "activation", "batchnorm", "dropout",   "softmax"};
static const char *const act_names[MC_N_ACTS] = {"linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "softplus", "gelu", "leaky_relu"};

const char *mc_model_layer_type_name(MCLayerType t)
{
  return (t >= 0 && t < MC_N_LAYER_TYPES) ? layer_type_names[t] : "unknown";
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
  if (l->type == MC_LAYER_CONV2D) return l->kh * l->kw * l->n_in * l->n_out;
  return 0;
}

uint64_t mc_model_hash(const MCModel *m, uint64_t h)
{
  h = mc_sys_hash(h, m->input_shape, sizeof(m->input_shape));
  h = mc_sys_hash(h, &m->n_layers, sizeof(m->n_layers));
  for (PetscInt i = 0; i < m->n_layers; ++i) {
    const MCLayer *L  = &m->layers[i];
    PetscInt       nw = mc_model_weight_count(L);
    PetscInt       geo[10] = {(PetscInt)L->type, (PetscInt)L->act, L->n_in, L->n_out, L->kh, L->kw, L->stride_h, L->stride_w, (PetscInt)L->padding, 0};
    const float   *per_channel[5] = {L->bias, L->gamma, L->beta, L->moving_mean, L->moving_var};

    h = mc_sys_hash(h, geo, sizeof(geo));
    h = mc_sys_hash(h, &L->alpha, sizeof(L->alpha));
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
  }
  PetscCall(PetscFree((*m)->layers));
  PetscCall(PetscFree(*m));
  PetscFunctionReturn(0);
}

/* Output extent of a window of size k with stride s over n inputs (Keras semantics). */
static PetscInt window_out(PetscInt n, PetscInt k, PetscInt s, MCPadding pad)
{
  if (pad == MC_PAD_SAME) return (n + s - 1) / s;
  return (n - k) / s + 1;
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

PetscErrorCode mc_model_finalize_shapes(MPI_Comm comm, MCModel *m)
{
  PetscInt    h, w, c;
  const char *src = m->source[0] ? m->source : "model";

  PetscFunctionBeginUser;
  h = m->input_shape[0];
  w = m->input_shape[1];
  c = m->input_shape[2];
  PetscCheck(h >= 1 && w >= 1 && c >= 1, comm, PETSC_ERR_USER_INPUT, "%s: input shape %" PetscInt_FMT " x %" PetscInt_FMT " x %" PetscInt_FMT " is not positive", src, h, w, c);
  PetscCheck(m->n_layers >= 1, comm, PETSC_ERR_USER_INPUT, "%s: the model has no layers", src);
  for (PetscInt i = 0; i < m->n_layers; ++i) {
    MCLayer    *l    = &m->layers[i];
    const char *type = mc_model_layer_type_name(l->type);

    PetscCheck(l->type >= 0 && l->type < MC_N_LAYER_TYPES, comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " '%s' has an invalid type %d", src, i, l->name, (int)l->type);
    PetscCheck(l->act >= 0 && l->act < MC_N_ACTS, comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " '%s' has an invalid activation %d", src, i, l->name, (int)l->act);
    l->in_shape[0] = h;
    l->in_shape[1] = w;
    l->in_shape[2] = c;
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
      PetscCheck(l->n_in == c, comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " '%s' (conv2d): kernel has %" PetscInt_FMT " input channels but the incoming tensor has %" PetscInt_FMT,
                 src, i, l->name, l->n_in, c);
      PetscCheck(l->n_out >= 1 && l->weight && l->kh >= 1 && l->kw >= 1, comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " '%s' (conv2d) has no kernel", src, i, l->name);
      /* fall through */
    case MC_LAYER_MAXPOOL2D:
    case MC_LAYER_AVGPOOL2D:
      PetscCheck(l->kh >= 1 && l->kw >= 1, comm, PETSC_ERR_USER_INPUT, "%s: layer %" PetscInt_FMT " '%s' (%s) has window %" PetscInt_FMT " x %" PetscInt_FMT, src, i, l->name, type, l->kh,
                 l->kw);
      if (l->stride_h <= 0) l->stride_h = l->type == MC_LAYER_CONV2D ? 1 : l->kh;
      if (l->stride_w <= 0) l->stride_w = l->type == MC_LAYER_CONV2D ? 1 : l->kw;
      PetscCheck(l->padding == MC_PAD_SAME || (l->kh <= h && l->kw <= w), comm, PETSC_ERR_USER_INPUT,
                 "%s: layer %" PetscInt_FMT " '%s' (%s): window %" PetscInt_FMT " x %" PetscInt_FMT " is larger than its %" PetscInt_FMT " x %" PetscInt_FMT " input", src, i, l->name, type,
                 l->kh, l->kw, h, w);
      h = window_out(h, l->kh, l->stride_h, l->padding);
      w = window_out(w, l->kw, l->stride_w, l->padding);
      if (l->type == MC_LAYER_CONV2D) c = l->n_out;
      else l->n_in = l->n_out = c;
      break;
    case MC_LAYER_FLATTEN:
      c = h * w * c;
      h = w = 1;
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
    case MC_LAYER_ACTIVATION:
    case MC_LAYER_DROPOUT:
    case MC_LAYER_SOFTMAX:
      l->n_in = l->n_out = c;
      break;
    default:
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
  for (PetscInt i = 0; i < head.n_layers; ++i) {
    MCLayer *l = &(*m)->layers[i];

    PetscCall(bcast_floats(comm, root, &l->weight, mc_model_weight_count(l)));
    PetscCall(bcast_floats(comm, root, &l->bias, l->n_out));
    PetscCall(bcast_floats(comm, root, &l->gamma, l->n_out));
    PetscCall(bcast_floats(comm, root, &l->beta, l->n_out));
    PetscCall(bcast_floats(comm, root, &l->moving_mean, l->n_out));
    PetscCall(bcast_floats(comm, root, &l->moving_var, l->n_out));
  }
  PetscFunctionReturn(0);
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
                              l->padding == MC_PAD_SAME ? "same" : "valid", l->type == MC_LAYER_CONV2D ? mc_model_activation_name(l->act) : ""));
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
