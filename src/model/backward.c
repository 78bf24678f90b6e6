/* src/model/backward.c: the backward pass (gradients of weights, biases, BatchNorm parameters and input). */
#include <math.h>
#include <string.h>
#include <cblas.h>
#include "model/nn_impl.h"

PetscErrorCode mc_grads_create(const MCModel *model, MCGrads **out)
{
  MCGrads *g;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&g));
  g->n_layers = model->n_layers;
  PetscCall(PetscCalloc1(g->n_layers, &g->dweight));
  PetscCall(PetscCalloc1(g->n_layers, &g->dbias));
  PetscCall(PetscCalloc1(g->n_layers, &g->dgamma));
  PetscCall(PetscCalloc1(g->n_layers, &g->dbeta));
  for (PetscInt i = 0; i < g->n_layers; ++i) {
    const MCLayer *L = &model->layers[i];
    if (L->type == MC_LAYER_DENSE || L->type == MC_LAYER_CONV2D) PetscCall(PetscCalloc1(mc_model_weight_count(L), &g->dweight[i]));
    if ((L->type == MC_LAYER_DENSE || L->type == MC_LAYER_CONV2D) && L->bias) PetscCall(PetscCalloc1(L->n_out, &g->dbias[i]));
    if (L->type == MC_LAYER_BATCHNORM && L->gamma) PetscCall(PetscCalloc1(L->in_shape[2], &g->dgamma[i]));
    if (L->type == MC_LAYER_BATCHNORM && L->beta) PetscCall(PetscCalloc1(L->in_shape[2], &g->dbeta[i]));
  }
  *out = g;
  PetscFunctionReturn(0);
}

PetscErrorCode mc_grads_destroy(MCGrads **gp)
{
  MCGrads *g = *gp;

  PetscFunctionBeginUser;
  if (!g) PetscFunctionReturn(0);
  for (PetscInt i = 0; i < g->n_layers; ++i) {
    PetscCall(PetscFree(g->dweight[i]));
    PetscCall(PetscFree(g->dbias[i]));
    PetscCall(PetscFree(g->dgamma[i]));
    PetscCall(PetscFree(g->dbeta[i]));
  }
  PetscCall(PetscFree(g->dweight));
  PetscCall(PetscFree(g->dbias));
  PetscCall(PetscFree(g->dgamma));
  PetscCall(PetscFree(g->dbeta));
  PetscCall(PetscFree(*gp));
  PetscFunctionReturn(0);
}

/* d <- d * act'(z) in place, given pre-activation z and output y = act(z); softmax over rows of width c. */
MC_VECTORIZE static void act_backward(MCActivation act, float alpha, float beta, PetscInt n, PetscInt c, const float *z, const float *y, float *d)
{
  const float selu_a = 1.6732632423543772848f, selu_s = 1.0507009873554804934f;

  switch (act) {
  case MC_ACT_LINEAR:
    break;
  case MC_ACT_RELU:
    for (PetscInt j = 0; j < n; ++j) d[j] = z[j] > 0.0f ? d[j] : 0.0f;
    break;
  case MC_ACT_SIGMOID:
    for (PetscInt j = 0; j < n; ++j) d[j] *= y[j] * (1.0f - y[j]);
    break;
  case MC_ACT_TANH:
    for (PetscInt j = 0; j < n; ++j) d[j] *= 1.0f - y[j] * y[j];
    break;
  case MC_ACT_ELU:
    for (PetscInt j = 0; j < n; ++j) d[j] *= z[j] > 0.0f ? 1.0f : y[j] + 1.0f;
    break;
  case MC_ACT_SELU:
    for (PetscInt j = 0; j < n; ++j) d[j] *= z[j] > 0.0f ? selu_s : y[j] + selu_s * selu_a;
    break;
  case MC_ACT_SOFTPLUS:
    for (PetscInt j = 0; j < n; ++j) d[j] *= 1.0f / (1.0f + expf(-z[j]));
    break;
  case MC_ACT_GELU:
    for (PetscInt j = 0; j < n; ++j) {
      float cdf = 0.5f * (1.0f + erff(z[j] * 0.70710678118654752f));
      float pdf = 0.39894228040143268f * expf(-0.5f * z[j] * z[j]);
      d[j] *= cdf + z[j] * pdf;
    }
    break;
  case MC_ACT_LEAKY_RELU:
    for (PetscInt j = 0; j < n; ++j) d[j] *= z[j] > 0.0f ? 1.0f : alpha;
    break;
  case MC_ACT_RELU6:
    for (PetscInt j = 0; j < n; ++j) d[j] = (z[j] > 0.0f && z[j] < 6.0f) ? d[j] : 0.0f;
    break;
  case MC_ACT_HARD_SIGMOID:
    for (PetscInt j = 0; j < n; ++j) {
      float v = alpha * z[j] + beta;
      d[j]    = (v > 0.0f && v < 1.0f) ? d[j] * alpha : 0.0f;
    }
    break;
  case MC_ACT_HARD_SWISH:
    for (PetscInt j = 0; j < n; ++j) d[j] *= z[j] <= -3.0f ? 0.0f : z[j] >= 3.0f ? 1.0f : (2.0f * z[j] + 3.0f) / 6.0f;
    break;
  case MC_ACT_SWISH:
    for (PetscInt j = 0; j < n; ++j) {
      float sg = 1.0f / (1.0f + expf(-z[j]));
      d[j] *= sg * (1.0f + z[j] * (1.0f - sg));
    }
    break;
  case MC_ACT_CLIP:
    for (PetscInt j = 0; j < n; ++j) d[j] = (z[j] > alpha && z[j] < beta) ? d[j] : 0.0f;
    break;
  case MC_ACT_SOFTMAX:
    for (PetscInt r = 0; r < n / c; ++r) {
      const float *yr = y + r * c;
      float       *dr = d + r * c;
      double       s  = 0.0;
      for (PetscInt j = 0; j < c; ++j) s += (double)dr[j] * yr[j];
      for (PetscInt j = 0; j < c; ++j) dr[j] = yr[j] * (float)(dr[j] - s);
    }
    break;
  default:
    break;
  }
}

/* Redirected ReLU gradient, per example of `per` values: the ordinary gradient if any of it is non-zero,
   else the incoming gradient with the entries that would push a negative input lower zeroed. */
MC_VECTORIZE static void relu_backward_redirect(PetscInt n, PetscInt per, const float *z, float *d)
{
  for (PetscInt r = 0; r < n; ++r) {
    const float *zr  = z + r * per;
    float       *dr  = d + r * per;
    PetscBool    any = PETSC_FALSE;
    for (PetscInt j = 0; j < per; ++j)
      if (zr[j] >= 0.0f && dr[j] != 0.0f) any = PETSC_TRUE;
    /* As Lucid: the ordinary gradient here passes at an input of exactly 0. */
    if (any)
      for (PetscInt j = 0; j < per; ++j) dr[j] = zr[j] < 0.0f ? 0.0f : dr[j];
    else
      for (PetscInt j = 0; j < per; ++j) dr[j] = (zr[j] < 0.0f && dr[j] > 0.0f) ? 0.0f : dr[j];
  }
}

PetscErrorCode mc_backward_set_relu_redirect(MCForward *f, PetscBool on)
{
  PetscFunctionBeginUser;
  f->relu_redirect = on;
  PetscFunctionReturn(0);
}

/* dst (+)= src over n values: a copy for the first contribution to a gradient, a sum for later ones. */
MC_VECTORIZE static void accumulate(float *dst, PetscBool *set, const float *src, PetscInt n)
{
  if (*set)
    for (PetscInt j = 0; j < n; ++j) dst[j] += src[j];
  else memcpy(dst, src, (size_t)n * sizeof(float));
  *set = PETSC_TRUE;
}

/* The gradient buffer of input j of layer i (the model input's for -1), zeroed on its first use when the
   caller will add into it (zero = PETSC_TRUE). */
static float *grad_of_input(MCForward *f, PetscInt i, PetscInt j, PetscBool **set, PetscBool zero)
{
  PetscInt p = f->model->layers[i].inputs[j];
  float   *d = p < 0 ? f->gin : f->grad[p];

  *set = p < 0 ? &f->gin_set : &f->gset[p];
  if (zero && !**set) {
    memset(d, 0, (size_t)(f->n * (p < 0 ? f->in_size0 : f->out_size[p])) * sizeof(float));
    **set = PETSC_TRUE;
  }
  return d;
}

static PetscBool has_params(const MCLayer *L)
{
  return (L->type == MC_LAYER_DENSE || L->type == MC_LAYER_CONV2D || L->type == MC_LAYER_BATCHNORM) ? PETSC_TRUE : PETSC_FALSE;
}

/* Dense or Conv2D layer i: parameter gradients from dy (w.r.t. its pre-activation) and, if dx_wanted, the
   gradient of its input added into that input's buffer. */
static PetscErrorCode weight_layer_backward(MCForward *f, PetscInt i, float *dy, MCGrads *g, PetscBool dx_wanted)
{
  const MCLayer *L  = &f->model->layers[i];
  const PetscInt n  = f->n, ni = f->in_size[i], no = f->out_size[i], co = L->n_out, C = L->in_shape[2];
  const float   *in = mc__nn_input(f, i, 0);
  PetscBool     *set;
  float         *dx = NULL;

  PetscFunctionBeginUser;
  if (g && g->dbias[i]) {
    PetscCall(PetscArrayzero(g->dbias[i], co));
    for (PetscInt r = 0; r < n * no / co; ++r)
      for (PetscInt c = 0; c < co; ++c) g->dbias[i][c] += dy[r * co + c];
  }
  if (L->type == MC_LAYER_DENSE) {
    if (g) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)ni, (int)co, (int)n, 1.0f, in, (int)ni, dy, (int)co, 0.0f, g->dweight[i], (int)co);
    if (dx_wanted) {
      dx = grad_of_input(f, i, 0, &set, PETSC_FALSE);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)ni, (int)co, 1.0f, dy, (int)co, L->weight, (int)co, *set ? 1.0f : 0.0f, dx, (int)ni);
      *set = PETSC_TRUE;
    }
    PetscFunctionReturn(0);
  }
  if (dx_wanted) dx = grad_of_input(f, i, 0, &set, PETSC_TRUE);
  if (mc_model_is_depthwise(L)) { /* channel multiplier mult */
    const MCWinGeom *gm = &f->geom[i];
    const PetscInt   H = L->in_shape[0], W = L->in_shape[1], mult = co / C;
    if (g) PetscCall(PetscArrayzero(g->dweight[i], mc_model_weight_count(L)));
    for (PetscInt e = 0; e < n; ++e)
      for (PetscInt oh = 0; oh < gm->oh; ++oh)
        for (PetscInt ow = 0; ow < gm->ow; ++ow) {
          const float *d = dy + e * no + (oh * gm->ow + ow) * co;
          for (PetscInt a = 0; a < L->kh; ++a) {
            PetscInt ih = oh * L->stride_h - gm->pt + a * L->dil_h;
            if (ih < 0 || ih >= H) continue;
            for (PetscInt b = 0; b < L->kw; ++b) {
              PetscInt     iw = ow * L->stride_w - gm->pl + b * L->dil_w, at;
              const float *xv;
              if (iw < 0 || iw >= W) continue;
              at = e * ni + (ih * W + iw) * C;
              xv = in + at;
              for (PetscInt o = 0; o < co; ++o) {
                if (g) g->dweight[i][(a * L->kw + b) * co + o] += d[o] * xv[o / mult];
                if (dx) dx[at + o / mult] += d[o] * L->weight[(a * L->kw + b) * co + o];
              }
            }
          }
        }
    PetscFunctionReturn(0);
  }
  {
    const MCWinGeom *gm    = &f->geom[i];
    const PetscInt   cog   = co / L->groups, K = L->kh * L->kw * (C / L->groups), rows = gm->oh * gm->ow;
    const PetscInt   chunk = mc__nn_chunk(f, i);
    if (!f->dcol) PetscCall(PetscMalloc1(f->n_col, &f->dcol));
    for (PetscInt e0 = 0; e0 < n; e0 += chunk) {
      PetscInt ne = PetscMin(chunk, n - e0);
      for (PetscInt grp = 0; grp < L->groups; ++grp) {
        if (g) {
          mc__nn_im2col(L, gm, grp, ne, in + e0 * ni, f->col);
          cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)cog, (int)(ne * rows), 1.0f, f->col, (int)K, dy + e0 * no + grp * cog, (int)co, e0 ? 1.0f : 0.0f,
                      g->dweight[i] + grp * cog, (int)co);
        }
        if (dx) {
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(ne * rows), (int)K, (int)cog, 1.0f, dy + e0 * no + grp * cog, (int)co, L->weight + grp * cog, (int)co, 0.0f, f->dcol, (int)K);
          mc__nn_col2im(L, gm, grp, ne, f->dcol, dx + e0 * ni);
        }
      }
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode mc_backward_run(MCForward *f, PetscInt top, MCGradAt at, const float dtop[], MCGrads *g, float dx[])
{
  const MCModel *m = f->model;
  const PetscInt n = f->n;
  PetscInt       start = top;

  PetscFunctionBeginUser;
  PetscCheck(f->have_run, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Backward pass before any forward pass.");
  PetscCheck(top >= 0 && top < f->n_layers, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Backward from layer %" PetscInt_FMT " outside 0..%" PetscInt_FMT ".", top, f->n_layers - 1);
  for (PetscInt i = 0; i < f->n_layers; ++i) PetscCheck(!f->n_in_mask[i] && !f->n_pre_mask[i], PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Backward pass with lesions set; clear them first.");
  if (!f->grad) {
    PetscCall(PetscCalloc3(f->n_layers, &f->grad, f->n_layers, &f->gset, f->n_layers, &f->gneed));
    for (PetscInt i = 0; i < f->n_layers; ++i) PetscCall(PetscMalloc1(f->max_batch * f->out_size[i], &f->grad[i]));
    PetscCall(PetscMalloc1(f->max_batch * f->in_size0, &f->gin));
    PetscCall(PetscMalloc1(f->max_batch * f->max_size, &f->gtmp));
  }
  /* gneed[i]: a gradient is wanted at layer i's output: the input gradient is asked for, or a layer with
     parameters lies at or below i (then the walk down must pass through i). */
  for (PetscInt i = 0; i < f->n_layers; ++i) {
    f->gset[i]  = PETSC_FALSE;
    f->gneed[i] = (dx || (g && has_params(&m->layers[i]))) ? PETSC_TRUE : PETSC_FALSE;
    for (PetscInt j = 0; j < m->layers[i].n_inputs && !f->gneed[i]; ++j)
      if (m->layers[i].inputs[j] >= 0 && f->gneed[m->layers[i].inputs[j]] && g) f->gneed[i] = PETSC_TRUE;
  }
  f->gin_set = PETSC_FALSE;
  if (at == MC_GRAD_PREACT && m->layers[top].type != MC_LAYER_DENSE && m->layers[top].type != MC_LAYER_CONV2D) {
    PetscBool *set;
    float     *d;

    /* dtop is the gradient of top's input: hand it to the producer. */
    PetscCheck(m->layers[top].n_inputs == 1, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Backward from the pre-activation of layer %" PetscInt_FMT " '%s', which has several inputs.", top, m->layers[top].name);
    d = grad_of_input(f, top, 0, &set, PETSC_FALSE);
    accumulate(d, set, dtop, n * f->in_size[top]);
    start = top - 1;
  } else {
    PetscCall(PetscArraycpy(f->grad[top], dtop, n * f->out_size[top]));
    f->gset[top] = PETSC_TRUE;
  }
  for (PetscInt i = start; i >= 0; --i) {
    const MCLayer *L   = &m->layers[i];
    const float   *in  = mc__nn_input(f, i, 0);
    const PetscInt ni  = f->in_size[i], no = f->out_size[i], C = L->in_shape[2];
    float         *dy  = f->grad[i], *tmp = f->gtmp, *d;
    PetscBool      first = (i == top && at == MC_GRAD_PREACT) ? PETSC_TRUE : PETSC_FALSE;
    PetscBool     *set, want = PETSC_FALSE;

    if (!f->gset[i]) continue; /* nothing above reads this layer's output (or it leads only to unused inputs) */
    for (PetscInt j = 0; j < L->n_inputs; ++j) {
      PetscInt p = L->inputs[j];
      if (p < 0 ? dx != NULL : f->gneed[p]) want = PETSC_TRUE;
    }
    if (!want && !(g && has_params(L))) continue;
    switch (L->type) {
    case MC_LAYER_DENSE:
    case MC_LAYER_CONV2D:
      if (!first && L->act == MC_ACT_RELU && f->relu_redirect) relu_backward_redirect(n, no, f->pre[i], dy);
      else if (!first) act_backward(L->act, L->alpha, L->act_beta, n * no, L->n_out, f->pre[i] ? f->pre[i] : f->out[i], f->out[i], dy);
      PetscCall(weight_layer_backward(f, i, dy, g, want));
      break;
    case MC_LAYER_MAXPOOL2D:
    case MC_LAYER_AVGPOOL2D: {
      const MCWinGeom *gm = &f->geom[i];
      PetscInt         H = L->in_shape[0], W = L->in_shape[1];
      d = grad_of_input(f, i, 0, &set, PETSC_TRUE);
      for (PetscInt e = 0; e < n; ++e) {
        const float *xe = in + e * ni;
        float       *de = d + e * ni;
        for (PetscInt oh = 0; oh < gm->oh; ++oh) {
          PetscInt h0 = PetscMax(0, oh * L->stride_h - gm->pt), h1 = PetscMin(H, oh * L->stride_h - gm->pt + L->kh);
          for (PetscInt ow = 0; ow < gm->ow; ++ow) {
            PetscInt     w0 = PetscMax(0, ow * L->stride_w - gm->pl), w1 = PetscMin(W, ow * L->stride_w - gm->pl + L->kw);
            const float *dd = dy + e * no + (oh * gm->ow + ow) * C;
            for (PetscInt c = 0; c < C; ++c) {
              if (L->type == MC_LAYER_MAXPOOL2D) {
                PetscInt bh = h0, bw = w0;
                float    best = xe[(h0 * W + w0) * C + c];
                for (PetscInt h = h0; h < h1; ++h)
                  for (PetscInt w = w0; w < w1; ++w)
                    if (xe[(h * W + w) * C + c] > best) best = xe[(h * W + w) * C + c], bh = h, bw = w;
                de[(bh * W + bw) * C + c] += dd[c];
              } else {
                float share = dd[c] / (float)((h1 - h0) * (w1 - w0));
                for (PetscInt h = h0; h < h1; ++h)
                  for (PetscInt w = w0; w < w1; ++w) de[(h * W + w) * C + c] += share;
              }
            }
          }
        }
      }
    } break;
    case MC_LAYER_BATCHNORM:
      if (g && g->dgamma[i]) {
        PetscCall(PetscArrayzero(g->dgamma[i], C));
        /* d gamma_c = sum dy * (x - mean)/sqrt(var + eps) */
        for (PetscInt r = 0; r < n * ni / C; ++r)
          for (PetscInt c = 0; c < C; ++c) g->dgamma[i][c] += dy[r * C + c] * (in[r * C + c] - L->moving_mean[c]) / sqrtf(L->moving_var[c] + L->eps);
      }
      if (g && g->dbeta[i]) {
        PetscCall(PetscArrayzero(g->dbeta[i], C));
        for (PetscInt r = 0; r < n * ni / C; ++r)
          for (PetscInt c = 0; c < C; ++c) g->dbeta[i][c] += dy[r * C + c];
      }
      if (!want) break;
      for (PetscInt r = 0; r < n * ni / C; ++r)
        for (PetscInt c = 0; c < C; ++c) tmp[r * C + c] = dy[r * C + c] * f->bn_scale[i][c];
      d = grad_of_input(f, i, 0, &set, PETSC_FALSE);
      accumulate(d, set, tmp, n * ni);
      break;
    case MC_LAYER_ACTIVATION:
    case MC_LAYER_SOFTMAX:
      if (L->type == MC_LAYER_ACTIVATION && L->act == MC_ACT_RELU && f->relu_redirect) relu_backward_redirect(n, ni, in, dy);
      else act_backward(L->type == MC_LAYER_SOFTMAX ? MC_ACT_SOFTMAX : L->act, L->alpha, L->act_beta, n * ni, C, in, f->out[i], dy);
      d = grad_of_input(f, i, 0, &set, PETSC_FALSE);
      accumulate(d, set, dy, n * ni);
      break;
    case MC_LAYER_DROPOUT:
      if (f->dropped && L->rate > 0.0f)
        for (PetscInt j = 0; j < n * ni; ++j) dy[j] *= f->drop[i][j];
      /* fall through */
    case MC_LAYER_FLATTEN:
    case MC_LAYER_RESHAPE:
      d = grad_of_input(f, i, 0, &set, PETSC_FALSE);
      accumulate(d, set, dy, n * ni);
      break;
    case MC_LAYER_ADD:
      for (PetscInt j = 0; j < L->n_inputs; ++j) {
        d = grad_of_input(f, i, j, &set, PETSC_FALSE);
        accumulate(d, set, dy, n * no);
      }
      break;
    case MC_LAYER_MULTIPLY:
      for (PetscInt j = 0; j < L->n_inputs; ++j) {
        PetscInt p = L->inputs[j], wj = p < 0 ? f->in_size0 : f->out_size[p];
        /* tmp = dy times every other factor (gates broadcast over H x W) */
        memcpy(tmp, dy, (size_t)(n * no) * sizeof(float));
        for (PetscInt k = 0; k < L->n_inputs; ++k) {
          const float *v  = mc__nn_input(f, i, k);
          PetscInt     q  = L->inputs[k], wk = q < 0 ? f->in_size0 : f->out_size[q];
          if (k == j) continue;
          if (wk == no)
            for (PetscInt t = 0; t < n * no; ++t) tmp[t] *= v[t];
          else
            for (PetscInt e = 0; e < n; ++e)
              for (PetscInt t = 0; t < no; ++t) tmp[e * no + t] *= v[e * C + t % C];
        }
        if (wj == no) {
          d = grad_of_input(f, i, j, &set, PETSC_FALSE);
          accumulate(d, set, tmp, n * no);
        } else { /* a gate: sum over H x W */
          d = grad_of_input(f, i, j, &set, PETSC_TRUE);
          for (PetscInt e = 0; e < n; ++e)
            for (PetscInt t = 0; t < no; ++t) d[e * C + t % C] += tmp[e * no + t];
        }
      }
      break;
    case MC_LAYER_CONCAT: {
      PetscInt c0 = 0, hw = no / C;
      for (PetscInt j = 0; j < L->n_inputs; ++j) {
        PetscInt p = L->inputs[j], cj = p < 0 ? m->input_shape[2] : m->layers[p].out_shape[2];
        for (PetscInt r = 0; r < n * hw; ++r) memcpy(tmp + r * cj, dy + r * C + c0, (size_t)cj * sizeof(float));
        d = grad_of_input(f, i, j, &set, PETSC_FALSE);
        accumulate(d, set, tmp, n * hw * cj);
        c0 += cj;
      }
    } break;
    case MC_LAYER_ZEROPAD2D: {
      PetscInt H = L->in_shape[0], W = L->in_shape[1], Wo = L->out_shape[1];
      for (PetscInt e = 0; e < n; ++e)
        for (PetscInt h = 0; h < H; ++h) memcpy(tmp + e * ni + h * W * C, dy + e * no + ((h + L->pad_t) * Wo + L->pad_l) * C, (size_t)(W * C) * sizeof(float));
      d = grad_of_input(f, i, 0, &set, PETSC_FALSE);
      accumulate(d, set, tmp, n * ni);
    } break;
    case MC_LAYER_GLOBALAVGPOOL:
      for (PetscInt e = 0; e < n; ++e)
        for (PetscInt p = 0; p < ni; ++p) tmp[e * ni + p] = dy[e * C + p % C] / (float)(ni / C);
      d = grad_of_input(f, i, 0, &set, PETSC_FALSE);
      accumulate(d, set, tmp, n * ni);
      break;
    case MC_LAYER_UPSAMPLE2D: {
      PetscInt W = L->in_shape[1], Ho = L->out_shape[0], Wo = L->out_shape[1];
      d = grad_of_input(f, i, 0, &set, PETSC_TRUE);
      for (PetscInt e = 0; e < n; ++e)
        for (PetscInt h = 0; h < Ho; ++h)
          for (PetscInt w = 0; w < Wo; ++w)
            for (PetscInt c = 0; c < C; ++c) d[e * ni + ((h / L->kh) * W + w / L->kw) * C + c] += dy[e * no + (h * Wo + w) * C + c];
    } break;
    default:
      break;
    }
  }
  if (dx) {
    if (f->gin_set) PetscCall(PetscArraycpy(dx, f->gin, n * f->in_size0));
    else PetscCall(PetscArrayzero(dx, n * f->in_size0));
  }
  PetscFunctionReturn(0);
}
