/* src/model/forward.c: batched single-precision forward pass with layer caches, lesion masks and restart. */
#include <math.h>
#include <string.h>
#include <cblas.h>
#include "model/nn_impl.h"

/* im2col scratch budget (floats); a conv layer is processed in chunks of examples that fit it. */
#define MC_NN_COL_BUDGET (4 * 1024 * 1024)

static PetscInt shape_size(const PetscInt s[3])
{
  return s[0] * s[1] * s[2];
}

const float *mc__nn_input(const MCForward *f, PetscInt i, PetscInt j)
{
  PetscInt p = f->model->layers[i].inputs[j];

  return p < 0 ? f->x : f->out[p];
}

/* Depthwise convolution, output channel o = c*mult + m reading input channel c: z += x (*) K. */
static void depthwise_forward(const MCLayer *L, const MCWinGeom *g, PetscInt n, const float *x, float *z)
{
  const PetscInt H = L->in_shape[0], W = L->in_shape[1], C = L->in_shape[2], co = L->n_out, mult = co / C;
  const PetscInt ni = H * W * C, no = g->oh * g->ow * co;

  for (PetscInt e = 0; e < n; ++e)
    for (PetscInt oh = 0; oh < g->oh; ++oh)
      for (PetscInt ow = 0; ow < g->ow; ++ow) {
        float *zo = z + e * no + (oh * g->ow + ow) * co;
        for (PetscInt a = 0; a < L->kh; ++a) {
          PetscInt ih = oh * L->stride_h - g->pt + a * L->dil_h;
          if (ih < 0 || ih >= H) continue;
          for (PetscInt b = 0; b < L->kw; ++b) {
            PetscInt     iw = ow * L->stride_w - g->pl + b * L->dil_w;
            const float *xv, *kv;
            if (iw < 0 || iw >= W) continue;
            xv = x + e * ni + (ih * W + iw) * C;
            kv = L->weight + (a * L->kw + b) * co;
            if (mult == 1)
              for (PetscInt c = 0; c < C; ++c) zo[c] += xv[c] * kv[c];
            else
              for (PetscInt o = 0; o < co; ++o) zo[o] += xv[o / mult] * kv[o];
          }
        }
      }
}

PetscInt mc__nn_chunk(const MCForward *f, PetscInt i)
{
  const MCLayer *L    = &f->model->layers[i];
  PetscInt       rows = f->geom[i].oh * f->geom[i].ow;
  PetscInt       c    = f->n_col / (rows * L->kh * L->kw * (L->in_shape[2] / L->groups));
  return c < 1 ? 1 : c;
}

/* Rows of the im2col matrix: one per (example, output position), K = kh*kw*Cg entries in (a, b, channel)
   order, for the Cg = C/groups input channels of group grp. */
void mc__nn_im2col(const MCLayer *L, const MCWinGeom *g, PetscInt grp, PetscInt n_ex, const float *x, float *col)
{
  const PetscInt H = L->in_shape[0], W = L->in_shape[1], C = L->in_shape[2];
  const PetscInt Cg = C / L->groups, K = L->kh * L->kw * Cg;
  const size_t   bytes = (size_t)Cg * sizeof(float);

  for (PetscInt e = 0; e < n_ex; ++e) {
    const float *xe = x + e * H * W * C + grp * Cg;
    for (PetscInt oh = 0; oh < g->oh; ++oh) {
      for (PetscInt ow = 0; ow < g->ow; ++ow) {
        float *row = col + ((e * g->oh + oh) * g->ow + ow) * K;
        for (PetscInt a = 0; a < L->kh; ++a) {
          PetscInt ih = oh * L->stride_h - g->pt + a * L->dil_h;
          for (PetscInt b = 0; b < L->kw; ++b) {
            PetscInt iw  = ow * L->stride_w - g->pl + b * L->dil_w;
            float   *dst = row + (a * L->kw + b) * Cg;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) memset(dst, 0, bytes);
            else memcpy(dst, xe + (ih * W + iw) * C, bytes);
          }
        }
      }
    }
  }
}

void mc__nn_col2im(const MCLayer *L, const MCWinGeom *g, PetscInt grp, PetscInt n_ex, const float *col, float *dx)
{
  const PetscInt H = L->in_shape[0], W = L->in_shape[1], C = L->in_shape[2];
  const PetscInt Cg = C / L->groups, K = L->kh * L->kw * Cg;

  for (PetscInt e = 0; e < n_ex; ++e) {
    float *de = dx + e * H * W * C + grp * Cg;
    for (PetscInt oh = 0; oh < g->oh; ++oh) {
      for (PetscInt ow = 0; ow < g->ow; ++ow) {
        const float *row = col + ((e * g->oh + oh) * g->ow + ow) * K;
        for (PetscInt a = 0; a < L->kh; ++a) {
          PetscInt ih = oh * L->stride_h - g->pt + a * L->dil_h;
          if (ih < 0 || ih >= H) continue;
          for (PetscInt b = 0; b < L->kw; ++b) {
            PetscInt     iw  = ow * L->stride_w - g->pl + b * L->dil_w;
            const float *src = row + (a * L->kw + b) * Cg;
            float       *d;
            if (iw < 0 || iw >= W) continue;
            d = de + (ih * W + iw) * C;
            for (PetscInt c = 0; c < Cg; ++c) d[c] += src[c];
          }
        }
      }
    }
  }
}

const char *mc_forward_lesion_mode_name(MCLesionMode mode)
{
  switch (mode) {
  case MC_LESION_OUTGOING:
    return "outgoing";
  case MC_LESION_INCOMING:
    return "incoming";
  }
  return "unknown";
}

PetscErrorCode mc_forward_create(const MCModel *model, PetscInt max_batch, MCForward **out)
{
  MCForward *f;
  PetscInt   nl = model->n_layers, col_need = 0;

  PetscFunctionBeginUser;
  PetscCheck(max_batch >= 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Forward batch size must be at least 1, got %" PetscInt_FMT ".", max_batch);
  PetscCheck(nl >= 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "The model from '%s' has no layers.", model->source);
  PetscCall(PetscNew(&f));
  f->model     = model;
  f->max_batch = max_batch;
  f->n_layers  = nl;
  f->in_size0  = shape_size(model->input_shape);
  f->dirty     = 0;
  PetscCall(PetscCalloc1(nl, &f->in_size));
  PetscCall(PetscCalloc1(nl, &f->out_size));
  PetscCall(PetscCalloc1(nl, &f->geom));
  PetscCall(PetscCalloc1(nl, &f->out));
  PetscCall(PetscCalloc1(nl, &f->own_out));
  PetscCall(PetscCalloc1(nl, &f->pre));
  PetscCall(PetscCalloc1(nl, &f->bn_scale));
  PetscCall(PetscCalloc1(nl, &f->bn_shift));
  PetscCall(PetscCalloc1(nl, &f->in_mask));
  PetscCall(PetscCalloc1(nl, &f->n_in_mask));
  PetscCall(PetscCalloc1(nl, &f->in_mask_c));
  PetscCall(PetscCalloc1(nl, &f->pre_mask));
  PetscCall(PetscCalloc1(nl, &f->n_pre_mask));
  PetscCall(PetscCalloc1(nl, &f->drop));
  f->max_size = f->in_size0;
  for (PetscInt i = 0; i < nl; ++i) {
    const MCLayer *L = &model->layers[i];

    PetscCheck(L->n_inputs >= 1 && L->inputs, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Layer %" PetscInt_FMT " '%s' has no inputs (model not finalized?).", i, L->name);
    switch (L->type) {
    case MC_LAYER_DENSE:
      PetscCheck(L->n_in == shape_size(L->in_shape) && L->weight, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Dense layer %" PetscInt_FMT " '%s' has %" PetscInt_FMT " inputs but receives %" PetscInt_FMT ".", i, L->name, L->n_in, shape_size(L->in_shape));
      break;
    case MC_LAYER_CONV2D:
    case MC_LAYER_MAXPOOL2D:
    case MC_LAYER_AVGPOOL2D:
      mc_model_window(L, 0, L->in_shape[0], &f->geom[i].oh, &f->geom[i].pt);
      mc_model_window(L, 1, L->in_shape[1], &f->geom[i].ow, &f->geom[i].pl);
      PetscCheck(f->geom[i].oh == L->out_shape[0] && f->geom[i].ow == L->out_shape[1], PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Layer %" PetscInt_FMT " '%s': window geometry disagrees with its output shape (shapes not finalized?).", i, L->name);
      if (L->type == MC_LAYER_CONV2D) {
        PetscInt rows = L->out_shape[0] * L->out_shape[1], k = L->kh * L->kw * (L->in_shape[2] / L->groups);
        PetscInt need = rows * k * PetscMin(max_batch, PetscMax(1, MC_NN_COL_BUDGET / (rows * k)));

        PetscCheck(L->weight && L->groups >= 1 && L->dil_h >= 1 && L->dil_w >= 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Conv2D layer %" PetscInt_FMT " '%s' has no kernel or is not finalized.", i, L->name);
        if (!mc_model_is_depthwise(L)) col_need = PetscMax(col_need, need);
      }
      break;
    case MC_LAYER_BATCHNORM:
      PetscCheck(L->moving_mean && L->moving_var, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "BatchNorm layer %" PetscInt_FMT " '%s' has no moving statistics.", i, L->name);
      PetscCall(PetscMalloc1(L->in_shape[2], &f->bn_scale[i]));
      PetscCall(PetscMalloc1(L->in_shape[2], &f->bn_shift[i]));
      break;
    default:
      PetscCheck(L->type > MC_LAYER_UNSET && L->type < MC_N_LAYER_TYPES, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Layer %" PetscInt_FMT " '%s' has a type the engine cannot run.", i, L->name);
      break;
    }
    f->in_size[i]  = shape_size(L->in_shape);
    f->out_size[i] = shape_size(L->out_shape);
    f->max_size    = PetscMax(f->max_size, PetscMax(f->out_size[i], f->in_size[i]));
    if (L->type != MC_LAYER_FLATTEN && L->type != MC_LAYER_RESHAPE) { /* these alias their input, set at run time */
      PetscCall(PetscMalloc1(max_batch * f->out_size[i], &f->out[i]));
      f->own_out[i] = PETSC_TRUE;
    }
    if ((L->type == MC_LAYER_DENSE || L->type == MC_LAYER_CONV2D) && L->act != MC_ACT_LINEAR) PetscCall(PetscMalloc1(max_batch * f->out_size[i], &f->pre[i]));
    if (L->type == MC_LAYER_DROPOUT) PetscCall(PetscMalloc1(max_batch * f->out_size[i], &f->drop[i]));
  }
  f->n_col = col_need;
  if (col_need) PetscCall(PetscMalloc1(col_need, &f->col));
  PetscCall(PetscMalloc1(max_batch * f->max_size, &f->masked));
  *out = f;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_forward_destroy(MCForward **fp)
{
  MCForward *f = *fp;

  PetscFunctionBeginUser;
  if (!f) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < f->n_layers; ++i) {
    if (f->own_out[i]) PetscCall(PetscFree(f->out[i]));
    PetscCall(PetscFree(f->pre[i]));
    PetscCall(PetscFree(f->bn_scale[i]));
    PetscCall(PetscFree(f->bn_shift[i]));
    PetscCall(PetscFree(f->in_mask[i]));
    PetscCall(PetscFree(f->pre_mask[i]));
    PetscCall(PetscFree(f->drop[i]));
  }
  PetscCall(PetscFree(f->in_size));
  PetscCall(PetscFree(f->out_size));
  PetscCall(PetscFree(f->geom));
  PetscCall(PetscFree(f->out));
  PetscCall(PetscFree(f->own_out));
  PetscCall(PetscFree(f->pre));
  PetscCall(PetscFree(f->bn_scale));
  PetscCall(PetscFree(f->bn_shift));
  PetscCall(PetscFree(f->in_mask));
  PetscCall(PetscFree(f->n_in_mask));
  PetscCall(PetscFree(f->in_mask_c));
  PetscCall(PetscFree(f->pre_mask));
  PetscCall(PetscFree(f->n_pre_mask));
  PetscCall(PetscFree(f->drop));
  PetscCall(PetscFree(f->masked));
  PetscCall(PetscFree(f->col));
  PetscCall(PetscFree(f->dcol));
  if (f->grad)
    for (PetscInt i = 0; i < f->n_layers; ++i) PetscCall(PetscFree(f->grad[i]));
  PetscCall(PetscFree3(f->grad, f->gset, f->gneed));
  PetscCall(PetscFree(f->gin));
  PetscCall(PetscFree(f->gtmp));
  PetscCall(PetscFree(*fp));
  PetscFunctionReturn(0);
}

/* Element-wise activation z -> y (may alias); softmax over the last axis of width c. */
MC_VECTORIZE static void act_forward(MCActivation act, float alpha, float beta, PetscInt n, PetscInt c, const float *z, float *y)
{
  const float selu_a = 1.6732632423543772848f, selu_s = 1.0507009873554804934f;

  switch (act) {
  case MC_ACT_LINEAR:
    if (y != z) memcpy(y, z, (size_t)n * sizeof(float));
    break;
  case MC_ACT_RELU:
    for (PetscInt j = 0; j < n; ++j) y[j] = z[j] > 0.0f ? z[j] : 0.0f;
    break;
  case MC_ACT_SIGMOID:
    for (PetscInt j = 0; j < n; ++j) y[j] = 1.0f / (1.0f + expf(-z[j]));
    break;
  case MC_ACT_TANH:
    for (PetscInt j = 0; j < n; ++j) y[j] = tanhf(z[j]);
    break;
  case MC_ACT_ELU:
    for (PetscInt j = 0; j < n; ++j) y[j] = z[j] > 0.0f ? z[j] : expm1f(z[j]);
    break;
  case MC_ACT_SELU:
    for (PetscInt j = 0; j < n; ++j) y[j] = selu_s * (z[j] > 0.0f ? z[j] : selu_a * expm1f(z[j]));
    break;
  case MC_ACT_SOFTPLUS:
    for (PetscInt j = 0; j < n; ++j) y[j] = z[j] > 0.0f ? z[j] + log1pf(expf(-z[j])) : log1pf(expf(z[j]));
    break;
  case MC_ACT_GELU:
    for (PetscInt j = 0; j < n; ++j) y[j] = 0.5f * z[j] * (1.0f + erff(z[j] * 0.70710678118654752f));
    break;
  case MC_ACT_LEAKY_RELU:
    for (PetscInt j = 0; j < n; ++j) y[j] = z[j] > 0.0f ? z[j] : alpha * z[j];
    break;
  case MC_ACT_RELU6:
    for (PetscInt j = 0; j < n; ++j) y[j] = z[j] > 0.0f ? (z[j] < 6.0f ? z[j] : 6.0f) : 0.0f;
    break;
  case MC_ACT_HARD_SIGMOID:
    for (PetscInt j = 0; j < n; ++j) {
      float v = alpha * z[j] + beta;
      y[j]    = v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f;
    }
    break;
  case MC_ACT_HARD_SWISH:
    for (PetscInt j = 0; j < n; ++j) {
      float v = z[j] + 3.0f;
      y[j]    = z[j] * (v > 0.0f ? (v < 6.0f ? v : 6.0f) : 0.0f) / 6.0f;
    }
    break;
  case MC_ACT_SWISH:
    for (PetscInt j = 0; j < n; ++j) y[j] = z[j] / (1.0f + expf(-z[j]));
    break;
  case MC_ACT_CLIP:
    for (PetscInt j = 0; j < n; ++j) y[j] = z[j] > alpha ? (z[j] < beta ? z[j] : beta) : alpha;
    break;
  case MC_ACT_SOFTMAX:
    for (PetscInt r = 0; r < n / c; ++r) {
      const float *zr = z + r * c;
      float       *yr = y + r * c;
      float        m  = zr[0];
      double       s  = 0.0;
      for (PetscInt j = 1; j < c; ++j) m = zr[j] > m ? zr[j] : m;
      for (PetscInt j = 0; j < c; ++j) {
        yr[j] = expf(zr[j] - m);
        s += yr[j];
      }
      for (PetscInt j = 0; j < c; ++j) yr[j] = (float)(yr[j] / s);
    }
    break;
  default:
    break;
  }
}

/* Zero the masked channels (index modulo c) of n rows of width w. */
MC_VECTORIZE static void apply_mask(PetscInt n, PetscInt w, PetscInt c, PetscInt n_mask, const PetscInt *mask, float *v)
{
  for (PetscInt r = 0; r < n; ++r)
    for (PetscInt p = 0; p < w; p += c)
      for (PetscInt k = 0; k < n_mask; ++k) v[r * w + p + mask[k]] = 0.0f;
}

static PetscErrorCode run_layer(MCForward *f, PetscInt i, PetscInt n)
{
  const MCLayer *L   = &f->model->layers[i];
  const float   *in  = mc__nn_input(f, i, 0);
  float         *out = f->out[i];
  PetscInt       ni = f->in_size[i], no = f->out_size[i];
  PetscInt       C   = L->in_shape[2];

  PetscFunctionBeginUser;
  if (f->n_in_mask[i]) {
    memcpy(f->masked, in, (size_t)(n * ni) * sizeof(float));
    apply_mask(n, ni, f->in_mask_c[i], f->n_in_mask[i], f->in_mask[i], f->masked);
    in = f->masked;
  }
  switch (L->type) {
  case MC_LAYER_DENSE:
  case MC_LAYER_CONV2D: {
    float   *z  = f->pre[i] ? f->pre[i] : out;
    PetscInt co = L->n_out;
    for (PetscInt r = 0; r < n * no / co; ++r) {
      if (L->bias) memcpy(z + r * co, L->bias, (size_t)co * sizeof(float));
      else memset(z + r * co, 0, (size_t)co * sizeof(float));
    }
    if (L->type == MC_LAYER_DENSE) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)co, (int)ni, 1.0f, in, (int)ni, L->weight, (int)co, 1.0f, z, (int)co);
    } else if (mc_model_is_depthwise(L)) {
      depthwise_forward(L, &f->geom[i], n, in, z);
    } else {
      const MCWinGeom *g     = &f->geom[i];
      PetscInt         cog   = co / L->groups, K = L->kh * L->kw * (C / L->groups), rows = g->oh * g->ow;
      PetscInt         chunk = mc__nn_chunk(f, i);
      for (PetscInt e0 = 0; e0 < n; e0 += chunk) {
        PetscInt ne = PetscMin(chunk, n - e0);
        for (PetscInt grp = 0; grp < L->groups; ++grp) {
          mc__nn_im2col(L, g, grp, ne, in + e0 * ni, f->col);
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(ne * rows), (int)cog, (int)K, 1.0f, f->col, (int)K, L->weight + grp * cog, (int)co, 1.0f, z + e0 * no + grp * cog, (int)co);
        }
      }
    }
    if (f->n_pre_mask[i]) apply_mask(n, no, co, f->n_pre_mask[i], f->pre_mask[i], z);
    if (f->pre[i]) act_forward(L->act, L->alpha, L->act_beta, n * no, co, z, out);
  } break;
  case MC_LAYER_MAXPOOL2D:
  case MC_LAYER_AVGPOOL2D: {
    const MCWinGeom *g = &f->geom[i];
    PetscInt         H = L->in_shape[0], W = L->in_shape[1];
    PetscBool        is_max = L->type == MC_LAYER_MAXPOOL2D ? PETSC_TRUE : PETSC_FALSE;
    for (PetscInt e = 0; e < n; ++e) {
      const float *xe = in + e * ni;
      for (PetscInt oh = 0; oh < g->oh; ++oh) {
        PetscInt h0 = PetscMax(0, oh * L->stride_h - g->pt), h1 = PetscMin(H, oh * L->stride_h - g->pt + L->kh);
        for (PetscInt ow = 0; ow < g->ow; ++ow) {
          PetscInt w0 = PetscMax(0, ow * L->stride_w - g->pl), w1 = PetscMin(W, ow * L->stride_w - g->pl + L->kw);
          float   *o  = out + e * no + (oh * g->ow + ow) * C;
          for (PetscInt c = 0; c < C; ++c) o[c] = is_max ? -INFINITY : 0.0f;
          for (PetscInt h = h0; h < h1; ++h)
            for (PetscInt w = w0; w < w1; ++w) {
              const float *v = xe + (h * W + w) * C;
              if (is_max)
                for (PetscInt c = 0; c < C; ++c) o[c] = v[c] > o[c] ? v[c] : o[c];
              else
                for (PetscInt c = 0; c < C; ++c) o[c] += v[c];
            }
          /* Padding is excluded from the average (Keras' 'same' pooling). */
          if (!is_max)
            for (PetscInt c = 0; c < C; ++c) o[c] /= (float)((h1 - h0) * (w1 - w0));
        }
      }
    }
  } break;
  case MC_LAYER_FLATTEN:
  case MC_LAYER_RESHAPE:
    f->out[i] = (float *)in; /* channels-last memory keeps its order: alias the input */
    break;
  case MC_LAYER_ADD:
    memcpy(out, in, (size_t)(n * no) * sizeof(float));
    for (PetscInt j = 1; j < L->n_inputs; ++j) {
      const float *v = mc__nn_input(f, i, j);
      for (PetscInt k = 0; k < n * no; ++k) out[k] += v[k];
    }
    break;
  case MC_LAYER_MULTIPLY:
    for (PetscInt k = 0; k < n * no; ++k) out[k] = 1.0f;
    for (PetscInt j = 0; j < L->n_inputs; ++j) {
      const float *v  = mc__nn_input(f, i, j);
      PetscInt     p  = L->inputs[j];
      PetscInt     wj = p < 0 ? f->in_size0 : f->out_size[p];
      if (wj == no)
        for (PetscInt k = 0; k < n * no; ++k) out[k] *= v[k];
      else /* a 1 x 1 x C gate over H x W */
        for (PetscInt e = 0; e < n; ++e)
          for (PetscInt k = 0; k < no; ++k) out[e * no + k] *= v[e * C + k % C];
    }
    break;
  case MC_LAYER_CONCAT: {
    PetscInt c0 = 0, hw = no / C;
    for (PetscInt j = 0; j < L->n_inputs; ++j) {
      const float *v  = mc__nn_input(f, i, j);
      PetscInt     p  = L->inputs[j];
      PetscInt     cj = p < 0 ? f->model->input_shape[2] : f->model->layers[p].out_shape[2];
      for (PetscInt r = 0; r < n * hw; ++r) memcpy(out + r * C + c0, v + r * cj, (size_t)cj * sizeof(float));
      c0 += cj;
    }
  } break;
  case MC_LAYER_ZEROPAD2D: {
    PetscInt H = L->in_shape[0], W = L->in_shape[1], Wo = L->out_shape[1];
    memset(out, 0, (size_t)(n * no) * sizeof(float));
    for (PetscInt e = 0; e < n; ++e)
      for (PetscInt h = 0; h < H; ++h) memcpy(out + e * no + ((h + L->pad_t) * Wo + L->pad_l) * C, in + e * ni + h * W * C, (size_t)(W * C) * sizeof(float));
  } break;
  case MC_LAYER_GLOBALAVGPOOL: {
    PetscInt hw = ni / C;
    for (PetscInt e = 0; e < n; ++e) {
      float *o = out + e * C;
      for (PetscInt c = 0; c < C; ++c) o[c] = 0.0f;
      for (PetscInt p = 0; p < hw; ++p)
        for (PetscInt c = 0; c < C; ++c) o[c] += in[e * ni + p * C + c];
      for (PetscInt c = 0; c < C; ++c) o[c] /= (float)hw;
    }
  } break;
  case MC_LAYER_UPSAMPLE2D: {
    PetscInt W = L->in_shape[1], Ho = L->out_shape[0], Wo = L->out_shape[1];
    for (PetscInt e = 0; e < n; ++e)
      for (PetscInt h = 0; h < Ho; ++h)
        for (PetscInt w = 0; w < Wo; ++w) memcpy(out + e * no + (h * Wo + w) * C, in + e * ni + ((h / L->kh) * W + w / L->kw) * C, (size_t)C * sizeof(float));
  } break;
  case MC_LAYER_BATCHNORM:
    /* Folded per run (C values), so parameters changed between runs (training, tests) take effect. */
    for (PetscInt c = 0; c < C; ++c) {
      float s           = (L->gamma ? L->gamma[c] : 1.0f) / sqrtf(L->moving_var[c] + L->eps);
      f->bn_scale[i][c] = s;
      f->bn_shift[i][c] = (L->beta ? L->beta[c] : 0.0f) - L->moving_mean[c] * s;
    }
    for (PetscInt r = 0; r < n * ni / C; ++r)
      for (PetscInt c = 0; c < C; ++c) out[r * C + c] = in[r * C + c] * f->bn_scale[i][c] + f->bn_shift[i][c];
    break;
  case MC_LAYER_ACTIVATION:
    act_forward(L->act, L->alpha, L->act_beta, n * ni, C, in, out);
    break;
  case MC_LAYER_SOFTMAX:
    act_forward(MC_ACT_SOFTMAX, 0.0f, 0.0f, n * ni, C, in, out);
    break;
  case MC_LAYER_DROPOUT:
    if (f->train && L->rate > 0.0f) {
      float keep = 1.0f - L->rate, scale = keep > 0.0f ? 1.0f / keep : 0.0f;
      for (PetscInt j = 0; j < n * ni; ++j) {
        float m      = mc_rng_uniform(f->rng) < (double)keep ? scale : 0.0f;
        f->drop[i][j] = m;
        out[j]        = in[j] * m;
      }
    } else memcpy(out, in, (size_t)(n * ni) * sizeof(float));
    break;
  default:
    break;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode mc_forward_run(MCForward *f, PetscInt n, const float x[], PetscInt from)
{
  PetscFunctionBeginUser;
  PetscCheck(n >= 1 && n <= f->max_batch, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Forward pass of %" PetscInt_FMT " examples, but the engine holds 1 to %" PetscInt_FMT ".", n, f->max_batch);
  if (from == MC_FORWARD_RESUME) from = f->have_run ? f->dirty : 0;
  PetscCheck(from >= 0 && from <= f->n_layers, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Forward restart layer %" PetscInt_FMT " outside 0..%" PetscInt_FMT ".", from, f->n_layers);
  if (from == 0) {
    if (x) f->x = x;
    PetscCheck(f->x, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Forward pass from layer 0 needs an input.");
  } else {
    PetscCheck(f->have_run && n == f->n, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Forward restart at layer %" PetscInt_FMT " needs a previous full pass of the same %" PetscInt_FMT " examples.", from, n);
  }
  if (from < f->n_layers) PetscCall(PetscLogEventBegin(MC_EVENTS[MC_EVENT_FORWARD], 0, 0, 0, 0));
  for (PetscInt i = from; i < f->n_layers; ++i) PetscCall(run_layer(f, i, n));
  if (from < f->n_layers) PetscCall(PetscLogEventEnd(MC_EVENTS[MC_EVENT_FORWARD], 0, 0, 0, 0));
  f->n = n;
  if (from == 0) f->have_run = PETSC_TRUE;
  f->dropped = f->train;
  f->dirty = f->n_layers;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_forward_output(MCForward *f, PetscInt layer, const float **y, PetscInt *width)
{
  PetscFunctionBeginUser;
  PetscCheck(layer >= -1 && layer < f->n_layers, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Layer %" PetscInt_FMT " outside -1..%" PetscInt_FMT ".", layer, f->n_layers - 1);
  if (y) *y = layer < 0 ? f->x : f->out[layer];
  if (width) *width = layer < 0 ? f->in_size0 : f->out_size[layer];
  PetscFunctionReturn(0);
}

PetscErrorCode mc_forward_preact(MCForward *f, PetscInt layer, const float **z, PetscInt *width)
{
  const MCLayer *L;

  PetscFunctionBeginUser;
  PetscCheck(layer >= 0 && layer < f->n_layers, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Layer %" PetscInt_FMT " outside 0..%" PetscInt_FMT ".", layer, f->n_layers - 1);
  L = &f->model->layers[layer];
  if (L->type == MC_LAYER_DENSE || L->type == MC_LAYER_CONV2D) {
    if (z) *z = f->pre[layer] ? f->pre[layer] : f->out[layer];
    if (width) *width = f->out_size[layer];
  } else PetscCall(mc_forward_output(f, L->inputs[0], z, width));
  PetscFunctionReturn(0);
}

PetscInt mc_forward_n_layers(const MCForward *f)
{
  return f->n_layers;
}

PetscInt mc_forward_n_unit_layers(const MCForward *f)
{
  PetscInt c = 1;
  for (PetscInt i = 0; i < f->n_layers; ++i) c += (f->model->layers[i].type == MC_LAYER_DENSE || f->model->layers[i].type == MC_LAYER_CONV2D) ? 1 : 0;
  return c;
}

PetscErrorCode mc_forward_unit_layer(const MCForward *f, PetscInt u, PetscInt *layer, PetscInt *n_units, PetscInt *width)
{
  PetscInt c = 0;

  PetscFunctionBeginUser;
  PetscCheck(u >= 0 && u < mc_forward_n_unit_layers(f), PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Unit layer %" PetscInt_FMT " outside 0..%" PetscInt_FMT ".", u, mc_forward_n_unit_layers(f) - 1);
  if (u == 0) {
    /* Input units: the features of an MLP (first weight layer Dense, as in the weight graph), else channels. */
    PetscInt nu = f->model->input_shape[2];
    for (PetscInt i = 0; i < f->n_layers; ++i) {
      if (f->model->layers[i].type == MC_LAYER_DENSE) nu = f->in_size0;
      if (f->model->layers[i].type == MC_LAYER_DENSE || f->model->layers[i].type == MC_LAYER_CONV2D) break;
    }
    if (layer) *layer = -1;
    if (n_units) *n_units = nu;
    if (width) *width = f->in_size0;
    PetscFunctionReturn(0);
  }
  for (PetscInt i = 0; i < f->n_layers; ++i) {
    const MCLayer *L = &f->model->layers[i];
    if (L->type != MC_LAYER_DENSE && L->type != MC_LAYER_CONV2D) continue;
    if (++c == u) {
      if (layer) *layer = i;
      if (n_units) *n_units = L->n_out;
      if (width) *width = f->out_size[i];
      break;
    }
  }
  PetscFunctionReturn(0);
}

/* Merge sorted unique `add` into the sorted unique list (*list, *n). */
static PetscErrorCode merge_units(PetscInt **list, PetscInt *n, PetscInt n_add, const PetscInt add[])
{
  PetscInt *m;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(*n + n_add, &m));
  if (*n) PetscCall(PetscArraycpy(m, *list, *n));
  if (n_add) PetscCall(PetscArraycpy(m + *n, add, n_add));
  *n += n_add;
  PetscCall(PetscSortRemoveDupsInt(n, m));
  PetscCall(PetscFree(*list));
  *list = m;
  PetscFunctionReturn(0);
}

/* The Dense/Conv2D layer that reads unit layer u (layers[] index `layer`, -1 the input) through layers that
   keep its channels: the one consumer of each layer on the way, which reads nothing else. Branches (a unit
   layer read by several layers, or merged with another tensor) are not lesioned this way yet. */
static PetscErrorCode outgoing_consumer(const MCForward *f, PetscInt u, PetscInt layer, PetscInt *at)
{
  const MCModel *m = f->model;

  PetscFunctionBeginUser;
  for (PetscInt cur = layer;;) {
    PetscInt next = -1, n_next = 0;

    for (PetscInt j = cur + 1; j < m->n_layers; ++j)
      for (PetscInt k = 0; k < m->layers[j].n_inputs; ++k)
        if (m->layers[j].inputs[k] == cur) next = j, ++n_next;
    for (PetscInt o = 0; o < m->n_outputs; ++o) n_next += m->outputs[o] == cur ? 1 : 0;
    PetscCheck(n_next > 0 && next >= 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Unit layer %" PetscInt_FMT " feeds no Dense or Conv2D layer, so its outgoing weights cannot be lesioned.", u);
    PetscCheck(n_next == 1 && m->layers[next].n_inputs == 1, PETSC_COMM_SELF, PETSC_ERR_SUP,
               "The units of layer '%s' reach a branch or a merge (layer %" PetscInt_FMT " '%s') before the weights that read them; outgoing lesions of branching networks are not supported yet.",
               layer < 0 ? "input" : m->layers[layer].name, next, m->layers[next].name);
    if (m->layers[next].type == MC_LAYER_DENSE || m->layers[next].type == MC_LAYER_CONV2D) {
      *at = next;
      break;
    }
    cur = next;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode mc_forward_lesion_set(MCForward *f, PetscInt u, PetscInt n_units, const PetscInt units[], MCLesionMode mode, PetscInt *restart)
{
  PetscInt layer, nu, at;

  PetscFunctionBeginUser;
  PetscCall(mc_forward_unit_layer(f, u, &layer, &nu, NULL));
  for (PetscInt k = 0; k < n_units; ++k) PetscCheck(units[k] >= 0 && units[k] < nu, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Lesion of unit %" PetscInt_FMT " in unit layer %" PetscInt_FMT ", which has %" PetscInt_FMT " units.", units[k], u, nu);
  if (mode == MC_LESION_INCOMING && u >= 1) {
    at = layer;
    PetscCall(merge_units(&f->pre_mask[at], &f->n_pre_mask[at], n_units, units));
  } else {
    PetscCall(outgoing_consumer(f, u, layer, &at));
    PetscCheck(f->in_size[at] % nu == 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Layer %" PetscInt_FMT " reads %" PetscInt_FMT " values, not a multiple of the %" PetscInt_FMT " units of unit layer %" PetscInt_FMT ".", at, f->in_size[at], nu, u);
    f->in_mask_c[at] = nu;
    PetscCall(merge_units(&f->in_mask[at], &f->n_in_mask[at], n_units, units));
  }
  f->dirty = PetscMin(f->dirty, at);
  if (restart) *restart = at;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_forward_lesion_set_input(MCForward *f, PetscInt layer, PetscInt channels, PetscInt n_units, const PetscInt units[], PetscInt *restart)
{
  const MCModel *m = f->model;

  PetscFunctionBeginUser;
  PetscCheck(layer >= 0 && layer < m->n_layers && (m->layers[layer].type == MC_LAYER_DENSE || m->layers[layer].type == MC_LAYER_CONV2D), PETSC_COMM_SELF,
             PETSC_ERR_USER_INPUT, "Input lesions apply to Dense and Conv2D layers; layer %" PetscInt_FMT " is not one.", layer);
  PetscCheck(channels > 0 && f->in_size[layer] % channels == 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "Layer '%s' reads %" PetscInt_FMT " values, not a multiple of %" PetscInt_FMT " channels.", m->layers[layer].name, f->in_size[layer], channels);
  PetscCheck(!f->n_in_mask[layer] || f->in_mask_c[layer] == channels, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "Layer '%s' already has an input lesion over %" PetscInt_FMT " channels, not %" PetscInt_FMT ".", m->layers[layer].name, f->in_mask_c[layer], channels);
  for (PetscInt k = 0; k < n_units; ++k)
    PetscCheck(units[k] >= 0 && units[k] < channels, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Lesion of input channel %" PetscInt_FMT " of layer '%s', which reads %" PetscInt_FMT " channels.",
               units[k], m->layers[layer].name, channels);
  f->in_mask_c[layer] = channels;
  PetscCall(merge_units(&f->in_mask[layer], &f->n_in_mask[layer], n_units, units));
  f->dirty = PetscMin(f->dirty, layer);
  if (restart) *restart = layer;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_forward_lesion_clear(MCForward *f, PetscInt *restart)
{
  PetscInt first = f->n_layers;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < f->n_layers; ++i) {
    if (f->n_in_mask[i] || f->n_pre_mask[i]) first = PetscMin(first, i);
    PetscCall(PetscFree(f->in_mask[i]));
    PetscCall(PetscFree(f->pre_mask[i]));
    f->n_in_mask[i] = f->n_pre_mask[i] = 0;
  }
  f->dirty = PetscMin(f->dirty, first);
  if (restart) *restart = first;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_forward_set_training(MCForward *f, PetscBool train, MCRng *rng)
{
  PetscFunctionBeginUser;
  PetscCheck(!train || rng, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Training mode needs a random stream for dropout.");
  f->train = train;
  f->rng   = rng;
  f->dirty = 0;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_forward_predict(MCForward *f, PetscInt pred[])
{
  PetscInt     w = f->out_size[f->model->outputs[0]];
  const float *y = f->out[f->model->outputs[0]];

  PetscFunctionBeginUser;
  for (PetscInt r = 0; r < f->n; ++r) {
    PetscInt best = 0;
    for (PetscInt j = 1; j < w; ++j)
      if (y[r * w + j] > y[r * w + best]) best = j;
    pred[r] = best;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode mc_forward_evaluate(MPI_Comm comm, MCForward *f, PetscInt n, const float x[], const PetscInt y[], PetscInt n_classes, PetscInt correct[], PetscInt total[])
{
  PetscMPIInt rank, size, nc;
  PetscInt    lo, hi, *pred;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  lo = (PetscInt)(((long long)n * rank) / size);
  hi = (PetscInt)(((long long)n * (rank + 1)) / size);
  PetscCall(PetscArrayzero(correct, n_classes));
  PetscCall(PetscArrayzero(total, n_classes));
  PetscCall(PetscMalloc1(f->max_batch, &pred));
  for (PetscInt b = lo; b < hi; b += f->max_batch) {
    PetscInt nb = PetscMin(f->max_batch, hi - b);
    PetscCall(mc_forward_run(f, nb, x + b * f->in_size0, 0));
    PetscCall(mc_forward_predict(f, pred));
    for (PetscInt r = 0; r < nb; ++r) {
      PetscInt c = y[b + r];
      PetscCheck(c >= 0 && c < n_classes, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Label %" PetscInt_FMT " of example %" PetscInt_FMT " outside 0..%" PetscInt_FMT ".", c, b + r, n_classes - 1);
      total[c]++;
      if (pred[r] == c) correct[c]++;
    }
  }
  PetscCall(PetscFree(pred));
  PetscCall(PetscMPIIntCast(n_classes, &nc));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, correct, nc, MPIU_INT, MPI_SUM, comm));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, total, nc, MPIU_INT, MPI_SUM, comm));
  PetscFunctionReturn(0);
}
