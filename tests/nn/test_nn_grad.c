/* tests/nn/test_nn_grad.c: the backward pass against central finite differences, for every layer type.
   L = sum(c * output) in double; for each tensor (kernels, biases, BatchNorm gamma/beta, the input) a random
   +-1 direction d: analytic <grad, d> against (L(t + h d) - L(t - h d)) / 2h. Also training-mode dropout
   (the same mask for every evaluation) and gradients w.r.t. a hidden pre-activation. */
#include <math.h>
#include "mc/forward.h"
#include "nn_testutil.h"

static const char *specs[] = {
  "input 1 1 12;dense 10 tanh;dense 9 sigmoid;dense 8 elu;dense 8 selu;dense 7 softplus;dense 7 gelu;dense 6 leaky_relu;dense 6 relu;dense 5 softmax",
  "input 7 6 2;conv2d 3 3 1 1 same 3 tanh;batchnorm 0.001;avgpool2d 2 2 2 2 same;conv2d 2 3 2 1 valid 4 softplus;flatten;dense 5 linear;softmax",
  "input 8 8 1;conv2d 3 3 1 1 same 4 relu;maxpool2d 2 2 2 2 valid;conv2d 3 3 2 2 same 3 elu;maxpool2d 3 3 2 2 same;flatten;dropout 0.5;dense 6 relu;activation tanh;dense 4 softmax",
  "input 1 1 10;dense 12 relu;dropout 0.4;dense 9 tanh;dropout 0.3;dense 5 linear",
};

typedef struct {
  MCForward *f;
  MCModel   *m;
  PetscInt   n;
  float     *x, *c;
  PetscBool  train;
  uint64_t   seed;
} Ctx;

static PetscErrorCode loss(Ctx *t, double *L)
{
  const float *y;
  PetscInt     w;
  MCRng        r;

  PetscFunctionBeginUser;
  mc_rng_init(&r, t->seed, MC_STREAM_TRAIN, 99);
  PetscCall(mc_forward_set_training(t->f, t->train, t->train ? &r : NULL));
  PetscCall(mc_forward_run(t->f, t->n, t->x, 0));
  PetscCall(mc_forward_output(t->f, t->m->n_layers - 1, &y, &w));
  *L = 0;
  for (PetscInt j = 0; j < t->n * w; ++j) *L += (double)t->c[j] * y[j];
  PetscFunctionReturn(0);
}

/* Compare <grad, d> with the central difference along d for tensor v (n entries). */
static PetscErrorCode check(Ctx *t, const char *what, float *v, const float *grad, PetscInt n, MCRng *r, PetscInt *fails)
{
  double an = 0, lp, lm, fd = 0, tol = 0;
  float *d, *save;

  PetscFunctionBeginUser;
  if (!v || !n) PetscFunctionReturn(0);
  PetscCall(PetscMalloc2(n, &d, n, &save));
  for (PetscInt j = 0; j < n; ++j) d[j] = mc_rng_uniform(r) < 0.5 ? -1.0f : 1.0f, save[j] = v[j], an += (double)grad[j] * d[j];
  /* ReLU and max-pooling are kinked: a step that moves a unit across 0 (or changes a window's maximum) spoils
     the difference, so a mismatch is retried with smaller steps (the chance of a crossing shrinks with h). */
  for (double h = 4e-3; h > 1e-4; h /= 4) {
    for (PetscInt j = 0; j < n; ++j) v[j] = (float)(save[j] + h * d[j]);
    PetscCall(loss(t, &lp));
    for (PetscInt j = 0; j < n; ++j) v[j] = (float)(save[j] - h * d[j]);
    PetscCall(loss(t, &lm));
    for (PetscInt j = 0; j < n; ++j) v[j] = save[j];
    fd  = (lp - lm) / (2 * h);
    tol = 2e-2 * PetscMax(fabs(an), fabs(fd)) + 2e-3;
    if (fabs(fd - an) <= tol) break;
  }
  if (!(fabs(fd - an) <= tol)) {
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "FAIL %s: analytic %.6g, finite difference %.6g\n", what, an, fd));
    (*fails)++;
  }
  PetscCall(PetscFree2(d, save));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  PetscInt fails = 0, checks = 0;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(mc_sys_initialize());
  for (size_t s = 0; s < sizeof(specs) / sizeof(specs[0]); ++s) {
    Ctx      t;
    MCGrads *g;
    MCRng    r;
    float   *dx;
    PetscInt nin, nout, f0 = fails;

    t.n     = 5;
    t.seed  = 7 + s;
    t.train = s >= 2 ? PETSC_TRUE : PETSC_FALSE;
    PetscCall(nn_test_build(specs[s], NULL, 0, 11 + s, &t.m));
    PetscCall(mc_forward_create(t.m, t.n, &t.f));
    nin  = t.m->input_shape[0] * t.m->input_shape[1] * t.m->input_shape[2];
    nout = t.m->layers[t.m->n_layers - 1].out_shape[0] * t.m->layers[t.m->n_layers - 1].out_shape[1] * t.m->layers[t.m->n_layers - 1].out_shape[2];
    PetscCall(PetscMalloc3(t.n * nin, &t.x, t.n * nout, &t.c, t.n * nin, &dx));
    mc_rng_init(&r, 5 + s, MC_STREAM_DATA, 0);
    for (PetscInt j = 0; j < t.n * nin; ++j) t.x[j] = (float)mc_rng_uniform(&r);
    for (PetscInt j = 0; j < t.n * nout; ++j) t.c[j] = (float)mc_rng_normal(&r);
    {
      double L;
      PetscCall(loss(&t, &L));
    }
    PetscCall(mc_grads_create(t.m, &g));
    PetscCall(mc_backward_run(t.f, t.m->n_layers - 1, MC_GRAD_OUTPUT, t.c, g, dx));
    for (PetscInt i = 0; i < t.m->n_layers; ++i) {
      MCLayer *L = &t.m->layers[i];
      char     what[256];
      PetscCall(PetscSNPrintf(what, sizeof(what), "spec %d layer %" PetscInt_FMT " (%s) weight", (int)s, i, mc_model_layer_type_name(L->type)));
      PetscCall(check(&t, what, L->weight, g->dweight[i], mc_model_weight_count(L), &r, &fails));
      checks += L->weight ? 1 : 0;
      if (L->type == MC_LAYER_DENSE || L->type == MC_LAYER_CONV2D) {
        PetscCall(PetscSNPrintf(what, sizeof(what), "spec %d layer %" PetscInt_FMT " bias", (int)s, i));
        PetscCall(check(&t, what, L->bias, g->dbias[i], L->n_out, &r, &fails));
        checks++;
      }
      if (L->type == MC_LAYER_BATCHNORM) {
        PetscCall(PetscSNPrintf(what, sizeof(what), "spec %d layer %" PetscInt_FMT " gamma", (int)s, i));
        PetscCall(check(&t, what, L->gamma, g->dgamma[i], L->n_out, &r, &fails));
        PetscCall(PetscSNPrintf(what, sizeof(what), "spec %d layer %" PetscInt_FMT " beta", (int)s, i));
        PetscCall(check(&t, what, L->beta, g->dbeta[i], L->n_out, &r, &fails));
        checks += 2;
      }
    }
    PetscCall(check(&t, "input", t.x, dx, t.n * nin, &r, &fails));
    checks++;
    /* Gradient of a hidden pre-activation w.r.t. the input (what feature visualization needs): the objective
       sum(c2 * z) of the first weight layer, backward with MC_GRAD_PREACT and g = NULL. */
    {
      PetscInt     lw = 0, wz;
      const float *z;
      double       an = 0, fd, lp = 0, lm = 0, h = 4e-3;
      float       *c2, *d;
      while (t.m->layers[lw].type != MC_LAYER_DENSE && t.m->layers[lw].type != MC_LAYER_CONV2D) lw++;
      PetscCall(mc_forward_set_training(t.f, PETSC_FALSE, NULL));
      PetscCall(mc_forward_run(t.f, t.n, t.x, 0));
      PetscCall(mc_forward_preact(t.f, lw, &z, &wz));
      PetscCall(PetscMalloc2(t.n * wz, &c2, t.n * nin, &d));
      for (PetscInt j = 0; j < t.n * wz; ++j) c2[j] = (float)mc_rng_normal(&r);
      PetscCall(mc_backward_run(t.f, lw, MC_GRAD_PREACT, c2, NULL, dx));
      for (PetscInt j = 0; j < t.n * nin; ++j) d[j] = mc_rng_uniform(&r) < 0.5 ? -1.0f : 1.0f, an += (double)dx[j] * d[j];
      for (int sgn = -1; sgn <= 1; sgn += 2) {
        double acc = 0;
        for (PetscInt j = 0; j < t.n * nin; ++j) t.x[j] += (float)(sgn * h) * d[j];
        PetscCall(mc_forward_run(t.f, t.n, t.x, 0));
        PetscCall(mc_forward_preact(t.f, lw, &z, NULL));
        for (PetscInt j = 0; j < t.n * wz; ++j) acc += (double)c2[j] * z[j];
        for (PetscInt j = 0; j < t.n * nin; ++j) t.x[j] -= (float)(sgn * h) * d[j];
        if (sgn < 0) lm = acc;
        else lp = acc;
      }
      fd = (lp - lm) / (2 * h);
      if (!(fabs(fd - an) <= 2e-2 * PetscMax(fabs(an), fabs(fd)) + 2e-3)) {
        PetscCall(PetscPrintf(PETSC_COMM_SELF, "FAIL spec %d pre-activation input gradient: analytic %.6g, finite difference %.6g\n", (int)s, an, fd));
        fails++;
      }
      checks++;
      PetscCall(PetscFree2(c2, d));
    }
    PetscCall(PetscPrintf(PETSC_COMM_SELF, "spec %d: %s\n", (int)s, fails == f0 ? "gradients match finite differences" : "MISMATCH"));
    PetscCall(PetscFree3(t.x, t.c, dx));
    PetscCall(mc_grads_destroy(&g));
    PetscCall(mc_forward_destroy(&t.f));
    PetscCall(mc_model_destroy(&t.m));
  }
  /* Redirected ReLU (feature visualization): example 0 has every hidden unit dead (bias -5), so its gradient is
     the incoming one with the entries that push a negative input lower (g > 0) zeroed; example 1 has live units
     and gets the ordinary gradient. Expected values computed here by hand. */
  {
    const float w[] = {1, -1, 0.5f, 2, 0, 1, -1, 1, /* W1 4x2 */ -5, -5, /* b1 */ 1, -2, /* W2 2x1 */ 0};
    MCModel    *m;
    MCForward  *f;
    float       x[8] = {0.1f, 0.2f, 0.3f, 0.4f, 4, 4, 4, 4}, dtop[2] = {1, 1}, dx[8], g[2], z[2], e[8];
    PetscCall(nn_test_build("input 1 1 4;dense 2 relu;dense 1 linear", w, 13, 0, &m));
    PetscCall(mc_forward_create(m, 2, &f));
    PetscCall(mc_forward_run(f, 2, x, 0));
    PetscCall(mc_backward_set_relu_redirect(f, PETSC_TRUE));
    PetscCall(mc_backward_run(f, 1, MC_GRAD_OUTPUT, dtop, NULL, dx));
    for (int r = 0; r < 2; ++r) {
      PetscBool any = PETSC_FALSE;
      for (int k = 0; k < 2; ++k) {
        z[k] = w[8 + k];
        for (int j = 0; j < 4; ++j) z[k] += x[4 * r + j] * w[2 * j + k];
        g[k] = dtop[r] * w[10 + k];
        if (z[k] >= 0 && g[k] != 0) any = PETSC_TRUE;
      }
      PetscCheck(r == 1 || !any, PETSC_COMM_SELF, PETSC_ERR_PLIB, "Redirect test: example 0 should be dead.");
      for (int k = 0; k < 2; ++k) g[k] = any ? (z[k] < 0 ? 0 : g[k]) : ((z[k] < 0 && g[k] > 0) ? 0 : g[k]);
      for (int j = 0; j < 4; ++j) {
        e[4 * r + j] = w[2 * j] * g[0] + w[2 * j + 1] * g[1];
        PetscCheck(fabsf(e[4 * r + j] - dx[4 * r + j]) < 1e-6f, PETSC_COMM_SELF, PETSC_ERR_PLIB, "Redirected ReLU gradient of example %d input %d: %g, expected %g.", r, j, (double)dx[4 * r + j], (double)e[4 * r + j]);
      }
    }
    PetscCheck(dx[0] != 0.0f || dx[1] != 0.0f || dx[2] != 0.0f || dx[3] != 0.0f, PETSC_COMM_SELF, PETSC_ERR_PLIB, "Redirect passed no gradient through the dead example.");
    checks++;
    PetscCall(mc_forward_destroy(&f));
    PetscCall(mc_model_destroy(&m));
  }
  PetscCheck(fails == 0, PETSC_COMM_SELF, PETSC_ERR_PLIB, "%" PetscInt_FMT " of %" PetscInt_FMT " gradient checks failed.", fails, checks);
  PetscCall(PetscPrintf(PETSC_COMM_SELF, "all %" PetscInt_FMT " gradient checks passed\n", checks));
  PetscCall(PetscFinalize());
  return 0;
}
