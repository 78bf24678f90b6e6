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
    if (L->type == MC_LAYER_DENSE) PetscCall(PetscCalloc1(L->n_in * L->n_out, &g->dweight[i]));
    if (L->type == MC_LAYER_CONV2D) PetscCall(PetscCalloc1(L->kh * L->kw * L->n_in * L->n_out, &g->dweight[i]));
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
MC_VECTORIZE static void act_backward(MCActivation act, float alpha, PetscInt n, PetscInt c, const float *z, const float *y, float *d)
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

PetscErrorCode mc_backward_run(MCForward *f, PetscInt top, MCGradAt at, const float dtop[], MCGrads *g, float dx[])
{
  const PetscInt n = f->n;
  float         *cur, *nxt;
  PetscInt       lowest;

  PetscFunctionBeginUser;
  PetscCheck(f->have_run, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Backward pass before any forward pass.");
  PetscCheck(top >= 0 && top < f->n_layers, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Backward from layer %" PetscInt_FMT " outside 0..%" PetscInt_FMT ".", top, f->n_layers - 1);
  for (PetscInt i = 0; i < f->n_layers; ++i) PetscCheck(!f->n_in_mask[i] && !f->n_pre_mask[i], PETSC_COMM_SELF, PETSC_ERR_USER_INPUT, "Backward pass with lesions set; clear them first.");
  if (!f->ga) {
    PetscCall(PetscMalloc1(f->max_batch * f->max_size, &f->ga));
    PetscCall(PetscMalloc1(f->max_batch * f->max_size, &f->gb));
  }
  cur = f->ga;
  nxt = f->gb;
  /* Below the lowest layer with parameters only the input gradient is of use: skip it when not asked for
     (saves the largest GEMM of an MLP's backward pass). */
  for (lowest = 0; lowest < f->n_layers; ++lowest) {
    MCLayerType t = f->model->layers[lowest].type;
    if (t == MC_LAYER_DENSE || t == MC_LAYER_CONV2D || t == MC_LAYER_BATCHNORM) break;
  }
  PetscCall(PetscArraycpy(cur, dtop, n * (at == MC_GRAD_PREACT && f->model->layers[top].type != MC_LAYER_DENSE && f->model->layers[top].type != MC_LAYER_CONV2D ? f->in_size[top] : f->out_size[top])));
  for (PetscInt i = top; i >= 0; --i) {
    const MCLayer *L     = &f->model->layers[i];
    const float   *in    = i == 0 ? f->x : f->out[i - 1];
    PetscInt       ni    = f->in_size[i], no = f->out_size[i], C = L->in_shape[2];
    PetscBool      first = (i == top && at == MC_GRAD_PREACT) ? PETSC_TRUE : PETSC_FALSE;
    PetscBool      need_dx = (dx || (g && i > lowest)) ? PETSC_TRUE : PETSC_FALSE;
    PetscBool      swap    = PETSC_TRUE;
    float         *tmp;

    if ((!need_dx && !g) || (i < lowest && !dx)) break;
    if (first && L->type != MC_LAYER_DENSE && L->type != MC_LAYER_CONV2D) continue; /* cur already is d/d input */
    switch (L->type) {
    case MC_LAYER_DENSE:
    case MC_LAYER_CONV2D: {
      PetscInt co = L->n_out, rows_all = n * no / co;
      if (!first && L->act == MC_ACT_RELU && f->relu_redirect) relu_backward_redirect(n, no, f->pre[i], cur);
      else if (!first) act_backward(L->act, L->alpha, n * no, co, f->pre[i] ? f->pre[i] : f->out[i], f->out[i], cur);
      if (g && g->dbias[i]) {
        PetscCall(PetscArrayzero(g->dbias[i], co));
        for (PetscInt r = 0; r < rows_all; ++r)
          for (PetscInt c = 0; c < co; ++c) g->dbias[i][c] += cur[r * co + c];
      }
      if (L->type == MC_LAYER_DENSE) {
        if (g) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)ni, (int)co, (int)n, 1.0f, in, (int)ni, cur, (int)co, 0.0f, g->dweight[i], (int)co);
        if (need_dx) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)ni, (int)co, 1.0f, cur, (int)co, L->weight, (int)co, 0.0f, nxt, (int)ni);
      } else {
        const MCWinGeom *gm    = &f->geom[i];
        PetscInt         K     = L->kh * L->kw * C, rows = gm->oh * gm->ow;
        PetscInt         chunk = mc__nn_chunk(f, i);
        if (!f->dcol) PetscCall(PetscMalloc1(f->n_col, &f->dcol));
        if (need_dx) PetscCall(PetscArrayzero(nxt, n * ni));
        for (PetscInt e0 = 0; e0 < n; e0 += chunk) {
          PetscInt ne = PetscMin(chunk, n - e0);
          if (g) {
            mc__nn_im2col(L, gm, ne, in + e0 * ni, f->col);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)co, (int)(ne * rows), 1.0f, f->col, (int)K, cur + e0 * no, (int)co, e0 ? 1.0f : 0.0f, g->dweight[i], (int)co);
          }
          if (need_dx) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(ne * rows), (int)K, (int)co, 1.0f, cur + e0 * no, (int)co, L->weight, (int)co, 0.0f, f->dcol, (int)K);
            mc__nn_col2im(L, gm, ne, f->dcol, nxt + e0 * ni);
          }
        }
      }
    } break;
    case MC_LAYER_MAXPOOL2D:
    case MC_LAYER_AVGPOOL2D: {
      const MCWinGeom *gm = &f->geom[i];
      PetscInt         H = L->in_shape[0], W = L->in_shape[1];
      PetscCall(PetscArrayzero(nxt, n * ni));
      for (PetscInt e = 0; e < n; ++e) {
        const float *xe = in + e * ni;
        float       *de = nxt + e * ni;
        for (PetscInt oh = 0; oh < gm->oh; ++oh) {
          PetscInt h0 = PetscMax(0, oh * L->stride_h - gm->pt), h1 = PetscMin(H, oh * L->stride_h - gm->pt + L->kh);
          for (PetscInt ow = 0; ow < gm->ow; ++ow) {
            PetscInt     w0 = PetscMax(0, ow * L->stride_w - gm->pl), w1 = PetscMin(W, ow * L->stride_w - gm->pl + L->kw);
            const float *d  = cur + e * no + (oh * gm->ow + ow) * C;
            for (PetscInt c = 0; c < C; ++c) {
              if (L->type == MC_LAYER_MAXPOOL2D) {
                PetscInt bh = h0, bw = w0;
                float    best = xe[(h0 * W + w0) * C + c];
                for (PetscInt h = h0; h < h1; ++h)
                  for (PetscInt w = w0; w < w1; ++w)
                    if (xe[(h * W + w) * C + c] > best) best = xe[(h * W + w) * C + c], bh = h, bw = w;
                de[(bh * W + bw) * C + c] += d[c];
              } else {
                float share = d[c] / (float)((h1 - h0) * (w1 - w0));
                for (PetscInt h = h0; h < h1; ++h)
                  for (PetscInt w = w0; w < w1; ++w) de[(h * W + w) * C + c] += share;
              }
            }
          }
        }
      }
    } break;
    case MC_LAYER_FLATTEN:
      swap = PETSC_FALSE; /* same memory layout: the gradient passes unchanged */
      break;
    case MC_LAYER_BATCHNORM:
      if (g && g->dgamma[i]) {
        PetscCall(PetscArrayzero(g->dgamma[i], C));
        /* d gamma_c = sum dy * (x - mean)/sqrt(var + eps) */
        for (PetscInt r = 0; r < n * ni / C; ++r)
          for (PetscInt c = 0; c < C; ++c) g->dgamma[i][c] += cur[r * C + c] * (in[r * C + c] - L->moving_mean[c]) / sqrtf(L->moving_var[c] + L->eps);
      }
      if (g && g->dbeta[i]) {
        PetscCall(PetscArrayzero(g->dbeta[i], C));
        for (PetscInt r = 0; r < n * ni / C; ++r)
          for (PetscInt c = 0; c < C; ++c) g->dbeta[i][c] += cur[r * C + c];
      }
      for (PetscInt r = 0; r < n * ni / C; ++r)
        for (PetscInt c = 0; c < C; ++c) nxt[r * C + c] = cur[r * C + c] * f->bn_scale[i][c];
      break;
    case MC_LAYER_ACTIVATION:
    case MC_LAYER_SOFTMAX:
      if (L->type == MC_LAYER_ACTIVATION && L->act == MC_ACT_RELU && f->relu_redirect) relu_backward_redirect(n, ni, in, cur);
      else act_backward(L->type == MC_LAYER_SOFTMAX ? MC_ACT_SOFTMAX : L->act, L->alpha, n * ni, C, in, f->out[i], cur);
      swap = PETSC_FALSE; /* updated in place */
      break;
    case MC_LAYER_DROPOUT:
      if (f->dropped && L->rate > 0.0f)
        for (PetscInt j = 0; j < n * ni; ++j) nxt[j] = cur[j] * f->drop[i][j];
      else swap = PETSC_FALSE; /* identity at inference */
      break;
    default:
      break;
    }
    if (swap) tmp = cur, cur = nxt, nxt = tmp;
  }
  if (dx) PetscCall(PetscArraycpy(dx, cur, n * f->in_size0));
  PetscFunctionReturn(0);
}
